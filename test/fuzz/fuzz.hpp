// test/fuzz/fuzz.hpp
// A small seeded, deterministic fuzz driver for the decoders of untrusted bytes. Each target
// (test/fuzz/*_fuzz.cpp, one Catch2 case tagged [fuzz] and its own tag) hands run() real
// encodings as seeds and a function that decodes one input and checks what it can beyond
// "no crash". Input i of a run is made from the run's seed and i alone, so a failure replays
// on its own:
//
//   KV_FUZZ_SEED=<seed>       another seed (default: the target's fixed one)
//   KV_FUZZ_ITERATIONS=<n>    inputs per target (default: the target's, ~60 s for the suite)
//   KV_FUZZ_ITERATION=<i>     only input i (what a failure prints), with the seed it printed
//   KV_FUZZ_INPUT=<file>      only the bytes of <file> ("-": standard input), unmutated: for
//                             afl++ and corpus replays (docs/fuzzing.md)
//   KV_FUZZ_SEEDS_OUT=<dir>   also writes the target's seeds to <dir>, a starting corpus
//
// Every run prints its seed; a failed check or a crash prints the seed and the input number.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

namespace kv::fuzz {

// A deterministic source of choices: std::mt19937_64 and modulo, no std distributions (those
// differ between standard libraries, and a seed should replay anywhere).
class chooser {
 public:
  explicit chooser(uint64_t seed) : gen_(seed) {}
  uint64_t next() { return gen_(); }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(gen_() % n); }
  bool one_in(size_t n) { return below(n) == 0; }
  // A value that decoders are likely to treat specially: 0, 1, powers of two and their
  // neighbours, the largest of each width, 2^62 (max_counter).
  uint64_t interesting();
  std::string bytes(size_t n);

 private:
  std::mt19937_64 gen_;
};

// Appends `v` as a protobuf varint.
void put_varint(std::string& out, uint64_t v);

// Changes `input` by 1..4 mutations: bit flips, byte sets, truncation, extension, insertion
// and removal of ranges, repeating a range, splicing with another seed, and writing a varint
// (of an interesting value) over a varint already there, such as a length or a counter.
void mutate(std::string& input, const std::vector<std::string>& seeds, chooser& choose);

constexpr size_t max_rss_bytes = size_t{256} << 20;

struct options {
  uint64_t seed;
  size_t iterations;
  long only = -1;  // KV_FUZZ_ITERATION, or -1 for all
};

// The options of a target from its defaults and the environment; prints them.
options options_for(const char* target, uint64_t seed, size_t iterations);

// The chooser of input `i` of a run seeded `seed`.
chooser chooser_for(uint64_t seed, size_t i);

// Called by a check for an input its decoder accepted: run() reports how many were, so a
// target whose mutations never get past the first check shows it.
void accepted();

// Runs `check` on the seeds unchanged, then on `iterations` mutated inputs. Returns the
// number of inputs checked. Fails the test if the process's peak RSS passed max_rss_bytes:
// a decoder that allocates by what its input announces rather than by what arrived.
size_t run(const char* target, uint64_t seed, size_t iterations,
           const std::vector<std::string>& seeds,
           const std::function<void(std::string_view)>& check);

}  // namespace kv::fuzz

// A check inside a target: fails the test case (with the input's seed and number in the
// message) only when false, so a passing check costs no more than its condition.
#define FUZZ_CHECK(cond)                     \
  do {                                       \
    if (!(cond)) FAIL("fuzz check: " #cond); \
  } while (false)
