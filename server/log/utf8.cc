#include "log/utf8.h"

namespace loan_gateway {
namespace {

bool InRange(unsigned char byte, unsigned char low, unsigned char high) {
  return byte >= low && byte <= high;
}

}  // namespace

// Follows the table of well-formed byte sequences (Unicode 15, Table 3-7):
// restricting the second byte's range after E0, ED, F0 and F4 is what
// excludes overlong forms, surrogates and code points above U+10FFFF, and
// stopping at the first byte out of range yields the maximal subpart.
Utf8Unit NextUtf8Unit(absl::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) return {.size = 1, .valid = true, .code_point = lead};
  size_t length = 0;
  unsigned char second_low = 0x80, second_high = 0xBF;
  char32_t code_point = 0;
  if (InRange(lead, 0xC2, 0xDF)) {
    length = 2;
    code_point = lead & 0x1F;
  } else if (InRange(lead, 0xE0, 0xEF)) {
    length = 3;
    code_point = lead & 0x0F;
    if (lead == 0xE0) second_low = 0xA0;   // Below: overlong.
    if (lead == 0xED) second_high = 0x9F;  // Above: surrogates.
  } else if (InRange(lead, 0xF0, 0xF4)) {
    length = 4;
    code_point = lead & 0x07;
    if (lead == 0xF0) second_low = 0x90;   // Below: overlong.
    if (lead == 0xF4) second_high = 0x8F;  // Above: beyond U+10FFFF.
  } else {
    // 80..BF (a continuation with no lead), C0/C1 (always overlong) and
    // F5..FF (beyond U+10FFFF or never used).
    return {.size = 1, .valid = false};
  }
  for (size_t i = 1; i < length; ++i) {
    if (i >= text.size()) return {.size = i, .valid = false};  // Cut short.
    const auto byte = static_cast<unsigned char>(text[i]);
    const bool in_range = i == 1 ? InRange(byte, second_low, second_high)
                                 : InRange(byte, 0x80, 0xBF);
    if (!in_range) return {.size = i, .valid = false};
    code_point = (code_point << 6) | (byte & 0x3F);
  }
  return {.size = length, .valid = true, .code_point = code_point};
}

absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes) {
  size_t end = 0;
  while (end < text.size()) {
    const size_t next = end + NextUtf8Unit(text.substr(end)).size;
    if (next > max_bytes) break;
    end = next;
  }
  return text.substr(0, end);
}

std::string ValidUtf8(absl::string_view text, size_t max_bytes) {
  static constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  while (!text.empty()) {
    const Utf8Unit unit = NextUtf8Unit(text);
    const absl::string_view piece =
        unit.valid ? text.substr(0, unit.size) : kReplacement;
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece.data(), piece.size());
    text.remove_prefix(unit.size);
  }
  return out;
}

}  // namespace loan_gateway
