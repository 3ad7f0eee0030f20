#include "proto_file/message_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"

namespace loan_gateway {
namespace {

// Collects the text parser's complaints with their line and column.
class TextErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty()) {
      first_ = absl::StrCat("line ", line + 1, ":", column + 1, ": ", message);
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

}  // namespace

absl::Status ReadMessageFile(const std::string& what, const std::string& path,
                             google::protobuf::Message& out) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " cannot be read"));
  }
  std::stringstream read;
  read << in.rdbuf();
  const std::string text = read.str();
  const std::string type = out.GetDescriptor()->name();
  const bool json =
      absl::EndsWith(path, ".json") ||
      absl::StartsWith(absl::StripLeadingAsciiWhitespace(text), "{");
  if (json) {
    const auto parsed = google::protobuf::util::JsonStringToMessage(text, &out);
    if (!parsed.ok()) {
      const auto why = parsed.message();
      return absl::InvalidArgumentError(absl::StrCat(
          what, " ", path, " is not a valid ", type,
          " in JSON: ", absl::string_view(why.data(), why.size())));
    }
    return absl::OkStatus();
  }
  google::protobuf::TextFormat::Parser parser;
  TextErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, " is not a valid ", type,
                     " in text format: ", errors.first()));
  }
  return absl::OkStatus();
}

}  // namespace loan_gateway
