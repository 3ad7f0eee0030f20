#include "binance/risk_unit_details.h"

#include <simdjson.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "binance/json_scalar.h"
#include "validate/decimal.h"

namespace loan_gateway::binance {
namespace {

namespace od = simdjson::ondemand;

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("ltv-details: ", what));
}

// An amount: a decimal as a string or a number, kept as its text.
absl::Status ReadAmount(od::value value, absl::string_view key,
                        std::string* out) {
  if (!ReadJsonScalarText(value, out) || !Decimal::ParseUpstream(*out).ok()) {
    return Malformed(absl::StrCat(key, " is not a decimal"));
  }
  return absl::OkStatus();
}

absl::Status ReadInt(od::value value, absl::string_view key, int64_t* out) {
  std::string text;
  if (!ReadJsonScalarText(value, &text) || !absl::SimpleAtoi(text, out)) {
    return Malformed(absl::StrCat(key, " is not an integer"));
  }
  return absl::OkStatus();
}

// Each object is read in one pass over its fields, in whatever order
// Binance sends them (simdjson's on-demand values are read once).
absl::StatusOr<Liability> ReadLiability(od::value element) {
  od::object entry;
  if (element.get_object().get(entry) != simdjson::SUCCESS) {
    return Malformed("a liability is not an object");
  }
  Liability liability;
  bool named = false;
  for (auto field : entry) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(value) != simdjson::SUCCESS) {
      return Malformed("a liability is not valid JSON");
    }
    absl::Status read = absl::OkStatus();
    if (key == "assetName") {
      std::string_view name;
      if (value.get_string().get(name) != simdjson::SUCCESS) {
        return Malformed("a liability's assetName is not a string");
      }
      liability.asset_name = std::string(name);
      named = true;
    } else if (key == "principal") {
      read = ReadAmount(value, "principal", &liability.principal);
    } else if (key == "interest") {
      read = ReadAmount(value, "interest", &liability.interest);
    }
    if (!read.ok()) return read;
  }
  if (!named) return Malformed("a liability has no assetName");
  return liability;
}

absl::Status ReadLiabilities(od::value value, std::vector<Liability>* out) {
  od::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) {
    return Malformed("liabilities is not an array");
  }
  for (auto element : array) {
    od::value entry;
    if (element.get(entry) != simdjson::SUCCESS) {
      return Malformed("liabilities is not valid JSON");
    }
    absl::StatusOr<Liability> liability = ReadLiability(entry);
    if (!liability.ok()) return liability.status();
    out->push_back(*std::move(liability));
  }
  return absl::OkStatus();
}

absl::StatusOr<RiskUnitDetails> ReadUnit(od::object& unit) {
  RiskUnitDetails d;
  bool has_group = false;
  const std::pair<std::string_view, std::string*> amounts[] = {
      {"ltv", &d.ltv},
      {"totalNetEquity", &d.total_net_equity},
      {"totalMaintenanceMargin", &d.total_maintenance_margin},
      {"totalLiability", &d.total_liability},
      {"parentAccountFrozenAmount", &d.parent_account_frozen_amount},
      {"maxTransferOutAmount", &d.max_transfer_out_amount},
      {"maxAllowedBorrowLimit", &d.max_allowed_borrow_limit}};
  for (auto field : unit) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(value) != simdjson::SUCCESS) {
      return Malformed("a risk unit is not valid JSON");
    }
    absl::Status read = absl::OkStatus();
    if (key == "groupId") {
      read = ReadInt(value, "groupId", &d.group_id);
      has_group = true;
    } else if (key == "updateTime") {
      read = ReadInt(value, "updateTime", &d.update_time_ms);
    } else if (key == "liabilities") {
      read = ReadLiabilities(value, &d.liabilities);
    } else {
      for (const auto& [name, out] : amounts) {
        if (key == name) {
          read = ReadAmount(value, absl::string_view(name.data(), name.size()),
                            out);
        }
      }
    }
    if (!read.ok()) return read;
  }
  if (!has_group) return Malformed("a risk unit has no groupId");
  return d;
}

}  // namespace

absl::StatusOr<std::optional<RiskUnitDetails>> ParseRiskUnitDetails(
    absl::string_view body, int64_t group_id) {
  od::parser parser;
  simdjson::padded_string padded(body.data(), body.size());
  od::document doc;
  od::array units;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_array().get(units) != simdjson::SUCCESS) {
    return Malformed("not a JSON array of risk units");
  }
  for (auto element : units) {
    od::object unit;
    if (element.get_object().get(unit) != simdjson::SUCCESS) {
      return Malformed("a risk unit is not an object");
    }
    absl::StatusOr<RiskUnitDetails> details = ReadUnit(unit);
    if (!details.ok()) return details.status();
    if (details->group_id == group_id) return *std::move(details);
  }
  return std::nullopt;
}

}  // namespace loan_gateway::binance
