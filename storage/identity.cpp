#include "storage/identity.hpp"
