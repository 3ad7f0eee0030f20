#include "validate/borrow_request_validator.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "api/asset_code.h"
#include "errors/error_details.h"
#include "google/rpc/error_details.pb.h"

namespace loan_gateway {
namespace {

using institutional_loan::v1::BorrowRequest;

void AddViolation(google::rpc::BadRequest& bad, absl::string_view field,
                  absl::string_view description) {
  auto* violation = bad.add_field_violations();
  violation->set_field(std::string(field));
  violation->set_description(std::string(description));
}

}  // namespace

bool IsUuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position
            ? text[i] != '-'
            : !absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

std::string CanonicalRequestId(absl::string_view uuid) {
  return absl::AsciiStrToLower(uuid);
}

absl::StatusOr<ValidBorrow> ValidateBorrowRequest(
    const BorrowRequest& request) {
  google::rpc::BadRequest bad;
  if (request.group_id() <= 0) {
    AddViolation(bad, "group_id", "group_id (the risk unit) must be > 0");
  }
  const std::string asset_name = api::AssetCode(request.asset());
  if (asset_name.empty()) {
    AddViolation(bad, "asset", "asset must be ASSET_USDT or ASSET_USDC");
  }
  absl::StatusOr<Decimal> amount = Decimal::Parse(request.amount());
  if (!amount.ok()) AddViolation(bad, "amount", amount.status().message());
  if (!request.request_id().empty() && !IsUuid(request.request_id())) {
    AddViolation(bad, "request_id",
                 "request_id must be a UUID like "
                 "8c6f7f8e-3b5e-4c1a-9d2f-0a1b2c3d4e5f, or empty");
  }
  if (bad.field_violations_size() > 0) {
    std::vector<std::string> fields;
    for (const auto& v : bad.field_violations()) fields.push_back(v.field());
    absl::Status status = errors::MakeError(
        absl::StatusCode::kInvalidArgument,
        "invalid Borrow request: " + absl::StrJoin(fields, ", "),
        "INVALID_REQUEST");
    errors::AttachDetail(status, bad);
    return status;
  }
  return ValidBorrow{request.group_id(), request.asset(), asset_name, *amount,
                     CanonicalRequestId(request.request_id())};
}

}  // namespace loan_gateway
