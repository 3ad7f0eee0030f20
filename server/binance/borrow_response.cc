#include "binance/borrow_response.h"

#include <simdjson.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "binance/json_scalar.h"
#include "validate/decimal.h"

namespace loan_gateway::binance {
namespace {

namespace od = simdjson::ondemand;

bool IsWordChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
}

bool IsTransactionId(absl::string_view id, bool was_number) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = was_number
                        ? absl::ascii_isdigit(static_cast<unsigned char>(c))
                        : IsWordChar(c) || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string QuoteBareWords(absl::string_view body) {
  std::string out;
  out.reserve(body.size() + 8);
  size_t i = 0;
  while (i < body.size()) {
    const char c = body[i];
    if (c == '"') {  // Copy a string verbatim, escapes included.
      size_t j = i + 1;
      while (j < body.size() && body[j] != '"') j += body[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, body.size());
      absl::StrAppend(&out, body.substr(i, j - i));
      i = j;
    } else if (c == '-' || absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      size_t j = i + 1;  // A number, exponent letters included.
      while (j < body.size() && (IsWordChar(body[j]) || body[j] == '.' ||
                                 body[j] == '+' || body[j] == '-')) {
        ++j;
      }
      absl::StrAppend(&out, body.substr(i, j - i));
      i = j;
    } else if (IsWordChar(c)) {
      size_t j = i;
      while (j < body.size() && IsWordChar(body[j])) ++j;
      const absl::string_view word = body.substr(i, j - i);
      const bool literal = word == "true" || word == "false" || word == "null";
      if (!literal) out.push_back('"');
      absl::StrAppend(&out, word);
      if (!literal) out.push_back('"');
      i = j;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

absl::StatusOr<BorrowReceipt> ParseBorrowReceipt(absl::string_view body) {
  const std::string repaired = QuoteBareWords(body);
  const simdjson::padded_string padded(repaired.data(), repaired.size());
  od::parser parser;
  od::document doc;
  od::object object;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    return absl::DataLossError("borrow answer is not a JSON object");
  }
  BorrowReceipt receipt;
  bool have_id = false;
  std::string status;
  for (auto field : object) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(value) != simdjson::SUCCESS) {
      return absl::DataLossError("borrow answer is malformed");
    }
    std::string text;
    bool was_number = false;
    if (key == "transactionId") {
      if (!ReadJsonScalarText(value, &text, &was_number) ||
          !IsTransactionId(text, was_number)) {
        return absl::DataLossError(
            "borrow answer has an unreadable transaction id");
      }
      receipt.transaction_id = text;
      have_id = true;
    } else if (key == "amount") {
      if (ReadJsonScalarText(value, &text, &was_number) &&
          Decimal::ParseUpstream(text).ok()) {
        receipt.amount = text;
      }
    } else if (key == "status") {
      if (!ReadJsonScalarText(value, &status, &was_number)) {
        return absl::DataLossError("borrow answer has an unreadable status");
      }
    }
  }
  if (!have_id)
    return absl::DataLossError("borrow answer has no transaction id");
  if (!status.empty() && !absl::EqualsIgnoreCase(status, "success")) {
    return absl::DataLossError("borrow answer status is not success");
  }
  return receipt;
}

std::optional<BinanceError> ParseBinanceError(absl::string_view body) {
  const simdjson::padded_string padded(body.data(), body.size());
  od::parser parser;
  od::document doc;
  od::object object;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  BinanceError error;
  bool have_code = false;
  for (auto field : object) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(value) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    if (key == "code") {
      std::string text;
      bool was_number = false;
      have_code = ReadJsonScalarText(value, &text, &was_number) &&
                  absl::SimpleAtoi(text, &error.code);
    } else if (key == "msg") {
      std::string_view msg;
      if (value.get_string().get(msg) == simdjson::SUCCESS)
        error.msg = std::string(msg);
    }
  }
  if (!have_code) return std::nullopt;
  return error;
}

}  // namespace loan_gateway::binance
