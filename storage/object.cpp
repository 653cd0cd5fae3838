#include "storage/object.hpp"
