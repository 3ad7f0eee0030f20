#include "binance/borrow_records.h"

#include <simdjson.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "binance/json_scalar.h"

namespace loan_gateway::binance {
absl::StatusOr<BorrowRecordsPage> ParseBorrowRecords(absl::string_view body) {
  // Amounts may be JSON numbers: take their exact text with the on-demand
  // parser's raw tokens rather than through a double.
  simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(body.data(), body.size());
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    return absl::DataLossError("borrow records answer is not a JSON object");
  }
  BorrowRecordsPage page;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
      return absl::DataLossError("borrow records answer is malformed");
    }
    simdjson::ondemand::value value = field.value();
    if (key == "total") {
      int64_t total = 0;
      if (value.get_int64().get(total) == simdjson::SUCCESS) page.total = total;
    } else if (key == "rows") {
      simdjson::ondemand::array rows;
      if (value.get_array().get(rows) != simdjson::SUCCESS) {
        return absl::DataLossError("borrow records rows is not an array");
      }
      for (auto row_value : rows) {
        simdjson::ondemand::object row;
        if (row_value.get_object().get(row) != simdjson::SUCCESS) {
          return absl::DataLossError("borrow record is not an object");
        }
        BorrowRecord record;
        for (auto f : row) {
          std::string_view k;
          if (f.unescaped_key().get(k) != simdjson::SUCCESS) {
            return absl::DataLossError("borrow record is malformed");
          }
          std::string text;
          ReadJsonScalarText(f.value(), &text);
          if (k == "tranId") record.transaction_id = text;
          if (k == "assetName") record.asset = text;
          if (k == "amount") record.amount = text;
          if (k == "status") record.status = text;
          if (k == "type") record.type = text;
          if (k == "timestamp" &&
              !absl::SimpleAtoi(text, &record.timestamp_ms)) {
            record.timestamp_ms =
                0;  // Unreadable: before any intent, never matched.
          }
        }
        if (record.transaction_id.empty()) {
          return absl::DataLossError("borrow record without tranId");
        }
        page.rows.push_back(std::move(record));
      }
    }
  }
  return page;
}

}  // namespace loan_gateway::binance
