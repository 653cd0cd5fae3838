#include "test/fuzz/fuzz.hpp"

#include <google/protobuf/stubs/logging.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>

#ifdef __SANITIZE_ADDRESS__
// ASan keeps freed memory in a quarantine (256 MiB by default) to catch use after free; that
// would count against max_rss_bytes, so the suite keeps a small one.
extern "C" const char* __asan_default_options() {
  return "quarantine_size_mb=16";
}
#endif

namespace kv::fuzz {

namespace {

size_t accepted_inputs = 0;

size_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;
}

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoull(text, nullptr, 0);
}

// Positions of the bytes that may start a varint: after a byte without the high bit.
size_t varint_start(const std::string& s, chooser& choose) {
  auto at = choose.below(s.size());
  while (at > 0 && (static_cast<unsigned char>(s[at - 1]) & 0x80)) --at;
  return at;
}

size_t varint_length(const std::string& s, size_t at) {
  size_t n = 0;
  while (at + n < s.size() && n < 10 && (static_cast<unsigned char>(s[at + n]) & 0x80)) ++n;
  return std::min(n + 1, s.size() - at);
}

void mutate_once(std::string& s, const std::vector<std::string>& seeds, chooser& choose) {
  switch (choose.below(11)) {
    case 0:  // flip a bit
      if (!s.empty()) s[choose.below(s.size())] ^= static_cast<char>(1u << choose.below(8));
      break;
    case 1: {  // set a byte
      static constexpr unsigned char special[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12};
      if (s.empty()) break;
      auto value = choose.one_in(2) ? special[choose.below(sizeof special)] : choose.next();
      s[choose.below(s.size())] = static_cast<char>(value);
      break;
    }
    case 2:  // truncate
      s.resize(choose.below(s.size() + 1));
      break;
    case 3:  // extend with random bytes
      s += choose.bytes(1 + choose.below(choose.one_in(8) ? 4096 : 16));
      break;
    case 4: {  // insert random bytes
      auto at = choose.below(s.size() + 1);
      s.insert(at, choose.bytes(1 + choose.below(8)));
      break;
    }
    case 5: {  // remove a range
      if (s.empty()) break;
      auto at = choose.below(s.size());
      s.erase(at, 1 + choose.below(std::min<size_t>(s.size() - at, 32)));
      break;
    }
    case 6: {  // repeat a range (a repeated field many times over)
      if (s.empty()) break;
      auto at = choose.below(s.size());
      auto part = s.substr(at, 1 + choose.below(std::min<size_t>(s.size() - at, 64)));
      auto times = 1 + choose.below(choose.one_in(4) ? 2048 : 4);
      std::string more;
      for (size_t i = 0; i < times; ++i) more += part;
      s.insert(choose.below(s.size() + 1), more);
      break;
    }
    case 7: {  // splice: a prefix of this input, a suffix of a seed
      if (seeds.empty()) break;
      auto& other = seeds[choose.below(seeds.size())];
      s = s.substr(0, choose.below(s.size() + 1)) + other.substr(choose.below(other.size() + 1));
      break;
    }
    case 8:
    case 9: {  // a varint (a tag, a length, a counter) rewritten
      if (s.empty()) break;
      auto at = varint_start(s, choose);
      std::string v;
      put_varint(v, choose.one_in(2) ? choose.interesting() : choose.below(300));
      s.replace(at, varint_length(s, at), v);
      break;
    }
    default: {  // a length nudged by one
      if (s.empty()) break;
      auto& byte = s[choose.below(s.size())];
      byte = static_cast<char>(byte + (choose.one_in(2) ? 1 : -1));
    }
  }
}

std::string read_input(const char* path) {
  std::ifstream file;
  if (std::string_view{path} != "-") file.open(path, std::ios::binary);
  std::istream& in = file.is_open() ? file : std::cin;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_seeds(const char* target, const std::vector<std::string>& seeds) {
  const char* dir = std::getenv("KV_FUZZ_SEEDS_OUT");
  if (dir == nullptr) return;
  for (size_t i = 0; i < seeds.size(); ++i) {
    std::ofstream out{std::string{dir} + "/" + target + "-" + std::to_string(i), std::ios::binary};
    out << seeds[i];
  }
}

}  // namespace

void accepted() {
  ++accepted_inputs;
}

uint64_t chooser::interesting() {
  switch (below(6)) {
    case 0:
      return below(3);
    case 1:
      return uint64_t{1} << below(64);
    case 2:
      return (uint64_t{1} << below(64)) - 1;
    case 3:
      return (uint64_t{1} << 62) - below(2);
    case 4:
      return ~uint64_t{0} - below(2);
    default:
      return uint64_t{0xffffffff} + below(3) - 1;
  }
}

std::string chooser::bytes(size_t n) {
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(gen_());
  return out;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>(v | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void mutate(std::string& input, const std::vector<std::string>& seeds, chooser& choose) {
  auto times = 1 + choose.below(4);
  for (size_t i = 0; i < times; ++i) mutate_once(input, seeds, choose);
}

options options_for(const char* target, uint64_t seed, size_t iterations) {
  options opts{env_number("KV_FUZZ_SEED", seed), env_number("KV_FUZZ_ITERATIONS", iterations)};
  if (const char* only = std::getenv("KV_FUZZ_ITERATION")) opts.only = std::atol(only);
  std::cout << "fuzz " << target << ": KV_FUZZ_SEED=" << opts.seed
            << " KV_FUZZ_ITERATIONS=" << opts.iterations << std::endl;
  return opts;
}

chooser chooser_for(uint64_t seed, size_t i) {
  // Distinct, well-mixed seeds per input (splitmix64 of seed and i).
  uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return chooser{z ^ (z >> 31)};
}

size_t run(const char* target, uint64_t seed, size_t iterations,
           const std::vector<std::string>& seeds,
           const std::function<void(std::string_view)>& check) {
  // Protobuf logs every string field that is not UTF-8; mutated inputs have many.
  google::protobuf::LogSilencer quiet;
  accepted_inputs = 0;
  write_seeds(target, seeds);
  if (const char* path = std::getenv("KV_FUZZ_INPUT")) {
    check(read_input(path));
    return 1;
  }
  auto opts = options_for(target, seed, iterations);
  size_t checked = 0;
  if (opts.only < 0) {
    for (size_t i = 0; i < seeds.size(); ++i) {
      INFO("fuzz " << target << ": seed input " << i);
      check(seeds[i]);
      ++checked;
    }
  }
  for (size_t i = 0; i < opts.iterations; ++i) {
    if (opts.only >= 0 && i != static_cast<size_t>(opts.only)) continue;
    INFO("fuzz " << target << ": KV_FUZZ_SEED=" << opts.seed << " KV_FUZZ_ITERATION=" << i);
    auto choose = chooser_for(opts.seed, i);
    auto input = seeds.empty() ? std::string{} : seeds[choose.below(seeds.size())];
    mutate(input, seeds, choose);
    check(input);
    ++checked;
  }
  std::cout << "fuzz " << target << ": " << checked << " inputs checked, " << accepted_inputs
            << " accepted; peak RSS " << (peak_rss_bytes() >> 20) << " MiB" << std::endl;
  INFO("fuzz " << target << ": KV_FUZZ_SEED=" << opts.seed);
  FUZZ_CHECK(peak_rss_bytes() <= max_rss_bytes);
  return checked;
}

}  // namespace kv::fuzz
