#include "service/page_token.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace loan_gateway {
namespace {

constexpr absl::string_view kVersion = "1";

// FNV-1a: stable across processes and builds (absl::Hash is not).
uint64_t Fnv1a(absl::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

uint64_t ListFilterHash(
    const institutional_loan::v1::ListOperationsRequest& request) {
  institutional_loan::v1::ListOperationsRequest filters = request;
  filters.clear_page_size();
  filters.clear_page_token();
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream out(&stream);
  out.SetSerializationDeterministic(true);
  filters.SerializeToCodedStream(&out);
  out.Trim();
  return Fnv1a(bytes);
}

std::string EncodePageToken(const PageToken& token) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kVersion, ":", absl::ToUnixMillis(token.created), ":",
                   absl::Hex(token.filters), ":", token.request_id));
}

absl::StatusOr<PageToken> DecodePageToken(absl::string_view text) {
  std::string raw;
  const absl::Status invalid =
      absl::InvalidArgumentError("page_token is not one this gateway made");
  if (!absl::WebSafeBase64Unescape(text, &raw)) return invalid;
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits(':', 3));
  PageToken token;
  int64_t created_ms = 0;
  if (parts.size() != 4 || parts[0] != kVersion ||
      !absl::SimpleAtoi(parts[1], &created_ms) ||
      !absl::SimpleHexAtoi(parts[2], &token.filters) || parts[3].empty()) {
    return invalid;
  }
  token.created = absl::FromUnixMillis(created_ms);
  token.request_id = parts[3];
  return token;
}

}  // namespace loan_gateway
