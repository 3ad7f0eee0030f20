#include "audit/audit_chain.h"

#include <google/protobuf/util/json_util.h>
#include <openssl/sha.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "audit/audit_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

using audit::v1::AuditRecord;
using testing::HasSubstr;

AuditRecord Decision(uint64_t seq, const std::string& prev) {
  AuditRecord record;
  record.set_seq(seq);
  record.mutable_time()->set_seconds(1'700'000'000 + seq);
  record.set_prev_sha256(prev);
  record.set_kind(audit::v1::CALL_ANSWERED);
  record.set_caller("spiffe://lg/ns/treasury/sa/rebalancer");
  record.set_method("Borrow");
  record.set_decision(audit::v1::ALLOWED);
  record.set_rule("callers[0]");
  record.set_reason("SUCCEEDED");
  record.set_code("OK");
  record.set_group_id(1001);
  record.set_asset("USDT");
  record.set_amount(absl::StrCat(seq, ".5"));
  return record;
}

// A valid chain of `n` records, one line each (newline included).
std::vector<std::string> ChainOf(int n) {
  std::vector<std::string> lines;
  std::string prev(kAuditGenesisSha256);
  for (int seq = 1; seq <= n; ++seq) {
    absl::StatusOr<AuditLine> line = FormatAuditLine(Decision(seq, prev));
    EXPECT_TRUE(line.ok()) << line.status();
    lines.push_back(line->text);
    prev = line->sha256;
  }
  return lines;
}

absl::StatusOr<AuditHead> Verify(const std::vector<std::string>& lines) {
  std::istringstream in(absl::StrJoin(lines, ""));
  return VerifyAuditChain(in);
}

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

TEST(AuditLineTest, IsOneLineOfProtobufJsonWithTheHashOfItsRecordBytes) {
  absl::StatusOr<AuditLine> line =
      FormatAuditLine(Decision(1, std::string(kAuditGenesisSha256)));
  ASSERT_TRUE(line.ok()) << line.status();
  const std::string prefix = "{\"record\":{\"seq\":\"1\",";
  ASSERT_TRUE(absl::StartsWith(line->text, prefix)) << line->text;
  const std::string suffix =
      absl::StrCat("},\"sha256\":\"", line->sha256, "\"}\n");
  ASSERT_TRUE(absl::EndsWith(line->text, suffix)) << line->text;
  EXPECT_EQ(line->text.find('\n'), line->text.size() - 1);
  const std::string record =
      line->text.substr(10, line->text.size() - 10 - suffix.size() + 1);
  EXPECT_EQ(Sha256Hex(record), line->sha256);
  EXPECT_THAT(record, HasSubstr("\"kind\":\"CALL_ANSWERED\""));
  EXPECT_THAT(record, HasSubstr("\"time\":\"2023-11-14T22:13:21Z\""));
  EXPECT_THAT(record, HasSubstr("\"group_id\":\"1001\""));
  EXPECT_THAT(record, testing::Not(HasSubstr("validate_only")))
      << "default values are omitted";
}

TEST(AuditLineTest, ParsesBackWhatItFormats) {
  const AuditRecord record = Decision(7, std::string(64, 'a'));
  absl::StatusOr<AuditLine> line = FormatAuditLine(record);
  ASSERT_TRUE(line.ok());
  absl::StatusOr<ParsedAuditLine> parsed =
      ParseAuditLine(absl::StripSuffix(line->text, "\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->intact);
  EXPECT_EQ(parsed->sha256, line->sha256);
  EXPECT_EQ(parsed->record.SerializeAsString(), record.SerializeAsString());
}

TEST(AuditLineTest, InvalidUtf8IsWrittenAsReplacementCharacters) {
  AuditRecord record = Decision(1, std::string(kAuditGenesisSha256));
  record.set_caller("cn=a\xff\xc3(b");
  absl::StatusOr<AuditLine> line = FormatAuditLine(record);
  ASSERT_TRUE(line.ok());
  absl::StatusOr<ParsedAuditLine> parsed =
      ParseAuditLine(absl::StripSuffix(line->text, "\n"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->record.caller(), "cn=a\uFFFD\uFFFD(b");
}

TEST(AuditLineTest, ATimeProtobufCannotPrintIsRefused) {
  AuditRecord record = Decision(1, std::string(kAuditGenesisSha256));
  record.mutable_time()->set_seconds(int64_t{1} << 40);
  EXPECT_TRUE(absl::IsInvalidArgument(FormatAuditLine(record).status()));
}

TEST(AuditLineTest, RefusesWhatIsNotALineOfTheFormat) {
  const std::string hash(64, 'a');
  for (const std::string& line : std::vector<std::string>{
           "", "{}", "{\"record\":{},\"sha256\":\"abc\"}",
           absl::StrCat("{\"record\":{},\"sha256\":\"", std::string(64, 'A'),
                        "\"}"),
           absl::StrCat(" {\"record\":{},\"sha256\":\"", hash, "\"}"),
           absl::StrCat("{\"record\":{},\"sha256\":\"", hash, "\"} ")}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseAuditLine(line).status())) << line;
  }
}

TEST(AuditLineTest, AnIntactLineWhoseRecordIsNotAnAuditRecordIsNamedSo) {
  const std::string json = "{\"seq\":\"1\",\"color\":\"red\"}";
  absl::StatusOr<ParsedAuditLine> parsed = ParseAuditLine(absl::StrCat(
      "{\"record\":", json, ",\"sha256\":\"", Sha256Hex(json), "\"}"));
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("its record is not an AuditRecord"));
}

TEST(AuditChainTest, AValidChainVerifiesToItsHead) {
  const std::vector<std::string> lines = ChainOf(5);
  absl::StatusOr<AuditHead> head = Verify(lines);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->seq, 5u);
  EXPECT_EQ(head->sha256,
            ParseAuditLine(absl::StripSuffix(lines[4], "\n"))->sha256);
}

TEST(AuditChainTest, AnEmptyLogIsSeqZero) {
  absl::StatusOr<AuditHead> head = Verify({});
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->seq, 0u);
  EXPECT_EQ(head->sha256, kAuditGenesisSha256);
}

void ExpectBroken(const std::vector<std::string>& lines,
                  const std::string& message) {
  absl::StatusOr<AuditHead> head = Verify(lines);
  EXPECT_TRUE(absl::IsFailedPrecondition(head.status())) << head.status();
  EXPECT_THAT(head.status().message(), HasSubstr(message));
}

TEST(AuditChainTest, AnEditedRecordBreaksItsOwnHash) {
  std::vector<std::string> lines = ChainOf(5);
  lines[2] = absl::StrReplaceAll(lines[2], {{"3.5", "30000.5"}});
  ExpectBroken(lines,
               "audit chain broken at line 3 (seq 3): its content does not "
               "match its sha256 — the record was edited");
}

TEST(AuditChainTest, AnEditWithItsHashRecomputedBreaksTheNextLink) {
  std::vector<std::string> lines = ChainOf(5);
  AuditRecord forged =
      ParseAuditLine(absl::StripSuffix(lines[2], "\n"))->record;
  forged.set_amount("30000.5");
  lines[2] = FormatAuditLine(forged)->text;
  ExpectBroken(lines,
               "audit chain broken at line 4 (seq 4): prev_sha256 does not "
               "match line 3's sha256 — line 3 was replaced or a line was "
               "removed");
}

TEST(AuditChainTest, ARemovedMiddleLineBreaksTheSeqs) {
  std::vector<std::string> lines = ChainOf(5);
  lines.erase(lines.begin() + 2);
  ExpectBroken(lines,
               "audit chain broken at line 3 (seq 4): expected seq 3 — "
               "records were removed or reordered before it");
}

TEST(AuditChainTest, ARemovedFirstLineIsCaught) {
  std::vector<std::string> lines = ChainOf(5);
  lines.erase(lines.begin());
  ExpectBroken(lines, "audit chain broken at line 1 (seq 2): expected seq 1");
}

TEST(AuditChainTest, ARenumberedChainStillDoesNotLinkToItsStart) {
  // The first line removed and the next renumbered as seq 1, its own hash
  // recomputed: its prev_sha256 is still line 1's, not 64 zeros.
  std::vector<std::string> lines = ChainOf(5);
  AuditRecord renumbered =
      ParseAuditLine(absl::StripSuffix(lines[1], "\n"))->record;
  renumbered.set_seq(1);
  lines.erase(lines.begin());
  lines[0] = FormatAuditLine(renumbered)->text;
  ExpectBroken(lines,
               "audit chain broken at line 1 (seq 1): the first record's "
               "prev_sha256 is not 64 zeros");
}

TEST(AuditChainTest, SwappedLinesBreakTheSeqs) {
  std::vector<std::string> lines = ChainOf(5);
  std::swap(lines[1], lines[2]);
  ExpectBroken(lines, "audit chain broken at line 2 (seq 3): expected seq 2");
}

TEST(AuditChainTest, ARepeatedLineIsCaught) {
  std::vector<std::string> lines = ChainOf(5);
  lines.insert(lines.begin() + 2, lines[1]);
  ExpectBroken(lines,
               "audit chain broken at line 3 (seq 2): expected seq 3 — a "
               "record was repeated or lines were reordered");
}

TEST(AuditChainTest, ABlankLineIsCaught) {
  std::vector<std::string> lines = ChainOf(5);
  lines.insert(lines.begin() + 2, "\n");
  ExpectBroken(lines,
               "audit chain broken at line 3: it is not an audit record line");
}

TEST(AuditChainTest, ATornLastLineIsCaught) {
  std::vector<std::string> lines = ChainOf(5);
  lines[4].pop_back();  // Whole but for its newline.
  ExpectBroken(lines, "audit chain broken at line 5: torn last line");
  lines[4].resize(lines[4].size() / 2);  // Cut mid-record.
  ExpectBroken(lines, "audit chain broken at line 5: torn last line");
}

TEST(AuditChainTest, AFileThatCannotBeReadIsUnavailableAndNamed) {
  absl::StatusOr<AuditHead> head =
      VerifyAuditFile("/nonexistent/audit/audit.log");
  EXPECT_TRUE(absl::IsUnavailable(head.status()));
  EXPECT_THAT(head.status().message(),
              HasSubstr("/nonexistent/audit/audit.log"));
}

}  // namespace
}  // namespace loan_gateway
