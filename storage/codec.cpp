#include "storage/codec.hpp"
