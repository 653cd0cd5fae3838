// Every message type registered with CAF, decoded from mutated bytes through CAF's binary
// deserializer: the path BASP takes for a message from another process, including the
// pre-scan that refuses a batch over max_batch_items before parsing it.
#include <catch2/catch.hpp>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "caf/all.hpp"
#include "messages/caf_types.hpp"
#include "messages/message_list.hpp"
#include "messages/wire_limits.hpp"
#include "test/fuzz/fuzz.hpp"

namespace kv {
namespace {

namespace pb = google::protobuf;

// Sets every field of `m` (two elements of each repeated field, sub-messages to `depth`), so
// the seeds of every type hold every field it has. Oneofs keep their last member.
void fill(pb::Message& m, int depth) {
  auto* refl = m.GetReflection();
  auto* desc = m.GetDescriptor();
  for (int i = 0; i < desc->field_count(); ++i) {
    auto* f = desc->field(i);
    for (int n = 0; n < (f->is_repeated() ? 2 : 1); ++n) {
      bool rep = f->is_repeated();
      switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth > 0)
            fill(rep ? *refl->AddMessage(&m, f) : *refl->MutableMessage(&m, f), depth - 1);
          break;
        case pb::FieldDescriptor::CPPTYPE_STRING:
          rep ? refl->AddString(&m, f, "n1.kq3x9a1") : refl->SetString(&m, f, "n1.kq3x9a1");
          break;
        case pb::FieldDescriptor::CPPTYPE_ENUM: {
          auto* v = f->enum_type()->value(f->enum_type()->value_count() > 1 ? 1 : 0);
          rep ? refl->AddEnum(&m, f, v) : refl->SetEnum(&m, f, v);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_BOOL:
          rep ? refl->AddBool(&m, f, true) : refl->SetBool(&m, f, true);
          break;
        case pb::FieldDescriptor::CPPTYPE_INT32:
          rep ? refl->AddInt32(&m, f, 3) : refl->SetInt32(&m, f, 3);
          break;
        case pb::FieldDescriptor::CPPTYPE_INT64:
          rep ? refl->AddInt64(&m, f, 1700000000123) : refl->SetInt64(&m, f, 1700000000123);
          break;
        case pb::FieldDescriptor::CPPTYPE_UINT32:
          rep ? refl->AddUInt32(&m, f, 3) : refl->SetUInt32(&m, f, 3);
          break;
        case pb::FieldDescriptor::CPPTYPE_UINT64:
          rep ? refl->AddUInt64(&m, f, 42) : refl->SetUInt64(&m, f, 42);
          break;
        case pb::FieldDescriptor::CPPTYPE_DOUBLE:
          rep ? refl->AddDouble(&m, f, 0.5) : refl->SetDouble(&m, f, 0.5);
          break;
        case pb::FieldDescriptor::CPPTYPE_FLOAT:
          rep ? refl->AddFloat(&m, f, 0.5f) : refl->SetFloat(&m, f, 0.5f);
          break;
      }
    }
  }
}

// A batch of `calls` empty calls and `pieces` pieces, field numbers 1 and 2.
std::string batch_bytes(size_t calls, size_t pieces) {
  std::string out;
  for (size_t i = 0; i < calls; ++i) out += std::string("\x0a\x00", 2);
  for (size_t i = 0; i < pieces; ++i) out += std::string("\x12\x00", 2);
  return out;
}

template <class T>
std::vector<std::string> payload_seeds() {
  T full;
  fill(full, 4);
  std::vector<std::string> seeds{T{}.SerializeAsString(), full.SerializeAsString()};
  if constexpr (msg::is_batch<T>) {
    seeds.push_back(batch_bytes(max_batch_items - 24, 24));
    seeds.push_back(batch_bytes(2, 3) + full.SerializeAsString());
  }
  return seeds;
}

// `payload` as CAF's binary serializer writes the protobuf bytes of a message.
std::vector<char> framed(caf::actor_system& sys, std::string_view payload) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  std::string copy{payload};
  static_cast<void>(sink(copy));  // ignored: a string always serializes
  return buf;
}

template <class T>
void fuzz_payloads(caf::actor_system& sys, size_t iterations) {
  auto name = T::descriptor()->full_name();
  fuzz::run(name.c_str(), 13301, iterations, payload_seeds<T>(), [&](std::string_view payload) {
    auto bytes = framed(sys, payload);
    caf::binary_deserializer source{sys, bytes};
    T x;
    auto err = source(x);
    if constexpr (msg::is_batch<T>) {
      if (!within_field_limit(payload, max_batch_items)) FUZZ_CHECK(err);
    }
    if (err) return;
    fuzz::accepted();
    auto again = x.SerializeAsString();
    T y;
    FUZZ_CHECK(y.ParseFromString(again) && y.SerializeAsString() == again);
    if constexpr (msg::is_batch<T>) {
      size_t items = x.GetReflection()->GetUnknownFields(x).field_count();
      for (int i = 0; i < T::descriptor()->field_count(); ++i)
        items += x.GetReflection()->FieldSize(x, T::descriptor()->field(i));
      FUZZ_CHECK(items <= max_batch_items);
    }
  });
}

template <class... Ts>
void fuzz_all_payloads(caf::actor_system& sys, size_t iterations, std::tuple<Ts...>*) {
  (fuzz_payloads<Ts>(sys, iterations), ...);
}

template <class... Ts>
std::vector<std::string> message_seeds(caf::actor_system& sys, std::tuple<Ts...>*) {
  std::vector<std::string> seeds;
  auto add = [&](auto x) {
    fill(x, 3);
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    static_cast<void>(sink(caf::make_message(std::move(x))));  // ignored: always serializes
    seeds.emplace_back(buf.begin(), buf.end());
  };
  (add(Ts{}), ...);
  return seeds;
}

struct system_fixture {
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    register_types(cfg);
    cfg.set("scheduler.max-threads", 1);
    return cfg;
  }
  system_fixture() : sys(init(cfg)) {}
  caf::actor_system_config cfg;
  caf::actor_system sys;
};

}  // namespace

TEST_CASE_METHOD(system_fixture,
                 "fuzz: every registered message type decodes through CAF or is refused",
                 "[fuzz][caf_messages]") {
  constexpr auto types = std::tuple_size_v<message_list>;
  fuzz_all_payloads(sys, 1000000 / types, static_cast<message_list*>(nullptr));
}

TEST_CASE_METHOD(system_fixture, "fuzz: whole CAF messages decode as some registered type or fail",
                 "[fuzz][caf_envelope]") {
  auto seeds = message_seeds(sys, static_cast<message_list*>(nullptr));
  fuzz::run("caf_envelope", 13302, 600000, seeds, [&](std::string_view bytes) {
    caf::binary_deserializer source{sys, bytes.data(), bytes.size()};
    caf::message out;
    if (!source(out) && !out.empty()) fuzz::accepted();
  });
}

}  // namespace kv
