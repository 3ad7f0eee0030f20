#include "validate/wire_decoder.h"

#include <google/protobuf/unknown_field_set.h>

#include <optional>
#include <string>

#include "errors/error_details.h"
#include "google/rpc/error_details.pb.h"

namespace loan_gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

// The first string field (dotted path) in `wire` that is not UTF-8, walking
// nested messages; the wire format alone needs no UTF-8, so UnknownFieldSet
// parses what the typed message would refuse.
std::optional<std::string> FirstInvalidString(const Descriptor& type,
                                              absl::string_view wire,
                                              int depth) {
  UnknownFieldSet fields;
  if (depth > 8 || !fields.ParseFromArray(wire.data(), wire.size())) {
    return std::nullopt;  // Left to the typed parse to refuse.
  }
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& field = fields.field(i);
    if (field.type() != UnknownField::TYPE_LENGTH_DELIMITED) continue;
    const FieldDescriptor* known = type.FindFieldByNumber(field.number());
    if (known == nullptr) continue;
    if (known->type() == FieldDescriptor::TYPE_STRING &&
        !IsValidUtf8(field.length_delimited())) {
      return known->name();
    }
    if (known->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (auto nested = FirstInvalidString(
              *known->message_type(), field.length_delimited(), depth + 1)) {
        return known->name() + "." + *nested;
      }
    }
  }
  return std::nullopt;
}

absl::Status InvalidRequest(const std::string& field,
                            const std::string& description) {
  absl::Status status = errors::MakeError(
      absl::StatusCode::kInvalidArgument,
      "invalid request: " + (field.empty() ? description : field),
      "INVALID_REQUEST");
  google::rpc::BadRequest bad;
  auto* violation = bad.add_field_violations();
  violation->set_field(field);
  violation->set_description(description);
  errors::AttachDetail(status, bad);
  return status;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // A stray continuation byte or 0xF8..0xFF.
    }
    if (i + len > text.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cont = static_cast<unsigned char>(text[i + k]);
      if ((cont & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cont & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

absl::Status DecodeRequest(absl::string_view wire,
                           google::protobuf::Message& message) {
  if (auto field = FirstInvalidString(*message.GetDescriptor(), wire, 0)) {
    return InvalidRequest(*field, *field + " is not valid UTF-8");
  }
  if (!message.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
    return InvalidRequest("", "the request is not a valid " +
                                  message.GetDescriptor()->full_name());
  }
  return absl::OkStatus();
}

}  // namespace loan_gateway
