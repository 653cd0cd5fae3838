#include "messages/framing.hpp"

#include "messages/errc.hpp"

namespace kv::protocol {
namespace {

uint32_t read_length(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

template <class Frame>
caf::expected<Frame> decode(std::string_view payload, const char* what) {
  Frame frame;
  if (!frame.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    return make_error(errc::invalid_argument, std::string{what} + " that does not parse");
  if (frame.frame_case() == Frame::FRAME_NOT_SET)
    return make_error(errc::invalid_argument,
                      std::string{what} + " of a kind this build does not know (or empty)");
  return frame;
}

}  // namespace

void append_frame(std::string& out, const google::protobuf::MessageLite& message) {
  auto size = static_cast<uint32_t>(message.ByteSizeLong());
  char header[header_bytes] = {static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                               static_cast<char>(size >> 8), static_cast<char>(size)};
  out.append(header, header_bytes);
  message.AppendToString(&out);
}

void frame_reader::feed(std::string_view bytes) {
  if (broken_) return;
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {  // drop what was read once it is half the buffer
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

caf::expected<std::optional<std::string>> frame_reader::next() {
  auto too_large = [this](uint32_t length) {
    return make_error(errc::too_large, "a frame of " + std::to_string(length) + " bytes; at most " +
                                           std::to_string(max_) + " are taken");
  };
  if (broken_) return too_large(read_length(buf_.data() + pos_));
  if (buffered() < header_bytes) return std::optional<std::string>{};
  auto length = read_length(buf_.data() + pos_);
  if (length > max_) {
    broken_ = true;
    return too_large(length);
  }
  if (buffered() - header_bytes < length) return std::optional<std::string>{};
  std::string payload = buf_.substr(pos_ + header_bytes, length);
  pos_ += header_bytes + length;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return std::optional<std::string>{std::move(payload)};
}

caf::expected<msg::ClientFrame> decode_client_frame(std::string_view payload) {
  return decode<msg::ClientFrame>(payload, "a client frame");
}

caf::expected<msg::NodeFrame> decode_node_frame(std::string_view payload) {
  return decode<msg::NodeFrame>(payload, "a node frame");
}

msg::HelloReply answer_hello(const msg::Hello& hello, std::string node_id, uint32_t max_frame_bytes,
                             uint32_t idle_timeout_ms, uint32_t max_in_flight) {
  msg::HelloReply reply;
  reply.set_version(version);
  reply.set_node_id(std::move(node_id));
  reply.set_max_frame_bytes(max_frame_bytes);
  reply.set_idle_timeout_ms(idle_timeout_ms);
  reply.set_max_in_flight(max_in_flight);
  if (hello.version() != version) {
    auto* err = reply.mutable_error();
    err->set_code(msg::ERR_INVALID_ARGUMENT);
    err->set_message("protocol version " + std::to_string(hello.version()) +
                     " is not spoken here; this node speaks version " + std::to_string(version));
  }
  return reply;
}

}  // namespace kv::protocol
