#include "storage/version_vector.hpp"
