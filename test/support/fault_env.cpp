#include "test/support/fault_env.hpp"
