// test/support/sample_object.hpp
// One object with every kind of sibling (live, tombstone, binary value, negative timestamp) and
// a context wider than its dots: the codec tests round-trip it, and the fuzz suite seeds from it.
#pragma once

#include <string>

#include "storage/object.hpp"

namespace kv::test {

inline storage::object sample_object() {
  using namespace kv::storage;
  return object::from_parts(
      {{{"n1.kq3x9a1", 3}, "hello", false, 1700000000123},
       {{"n2.kq3xb00", 1}, "", true, 1700000000456},
       {{"n2.kq3xb00", 2}, std::string("\0\xff binary", 9), false, -5}},
      version_vector::from_entries({{"n1.kq3x9a1", 4, 17}, {"n3.kq40000", 9, 0}}));
}

}  // namespace kv::test
