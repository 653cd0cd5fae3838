#include "cluster/ring.hpp"
