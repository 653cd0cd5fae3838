#include "storage/engine.hpp"
