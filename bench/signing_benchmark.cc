// Micro-benchmarks of the per-borrow CPU work: signing with each key type,
// building the signed request, and parsing/classifying Binance's answer.
//   build/bench/signing_benchmark
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "audit/audit_line.h"
#include "binance/borrow_outcome.h"
#include "binance/borrow_response.h"
#include "binance/signed_request.h"
#include "sign/signer.h"
#include "testing/test_doubles.h"

namespace loan_gateway {
namespace {

using ::loan_gateway::test_doubles::ReadTestFile;

const char kPayload[] =
    "groupId=1001&assetName=USDT&amount=1000.5&recvWindow=5000&timestamp="
    "1764000000000";

std::unique_ptr<Signer> MakeTestSigner(KeyType type) {
  const std::string dir = SIGN_TESTDATA_DIR;
  Secret key = type == KeyType::kHmacSha256 ? Secret(std::string(64, 'k'))
               : type == KeyType::kRsa
                   ? Secret(ReadTestFile(dir + "/rsa_test_key.pem"))
                   : Secret(ReadTestFile(dir + "/ed25519_test_key.pem"));
  return *MakeSigner(type, std::move(key));
}

void BM_Sign(benchmark::State& state) {
  auto signer = MakeTestSigner(static_cast<KeyType>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(signer->Sign(kPayload));
  state.SetLabel(std::string(KeyTypeName(signer->type())));
}
BENCHMARK(BM_Sign)
    ->Arg(static_cast<int>(KeyType::kHmacSha256))
    ->Arg(static_cast<int>(KeyType::kRsa))
    ->Arg(static_cast<int>(KeyType::kEd25519));

void BM_BuildBorrowRequest(benchmark::State& state) {
  auto signer = MakeTestSigner(KeyType::kEd25519);
  Secret api_key(std::string(64, 'a'));
  ValidBorrow borrow{1001, institutional_loan::v1::ASSET_USDT, "USDT",
                     *Decimal::Parse("1000.5"), ""};
  for (auto _ : state) {
    benchmark::DoNotOptimize(binance::BuildBorrowRequest(
        borrow, "https://api.binance.com", 1764000000000, 5000,
        {&api_key, signer.get()}));
  }
}
BENCHMARK(BM_BuildBorrowRequest);

void BM_ParseDocumentedReceipt(benchmark::State& state) {
  const std::string body =
      R"({"transactionId":12317283617,"amount":123456.78,"status":success})";
  for (auto _ : state)
    benchmark::DoNotOptimize(binance::ParseBorrowReceipt(body));
}
BENCHMARK(BM_ParseDocumentedReceipt);

void BM_ClassifyBorrowLimit(benchmark::State& state) {
  ValidBorrow borrow{1001, institutional_loan::v1::ASSET_USDT, "USDT",
                     *Decimal::Parse("60000"), ""};
  HttpResult result;
  result.delivery = Delivery::kCompleted;
  result.status = 400;
  result.body =
      R"({"code":-27009,"msg":"The requested borrow amount exceeds the maximum )"
      R"(allowed limit. Max borrowable amount: 50000 USDT"})";
  for (auto _ : state)
    benchmark::DoNotOptimize(binance::ClassifyBorrowResult(result, borrow));
}
BENCHMARK(BM_ClassifyBorrowLimit);

// The audit trail's line for a borrow's answer: its JSON and its SHA-256.
void BM_FormatAuditLine(benchmark::State& state) {
  audit::v1::AuditRecord record;
  record.set_seq(114004);
  record.mutable_time()->set_seconds(1796374552);
  record.mutable_time()->set_nanos(632000000);
  record.set_prev_sha256(std::string(64, 'a'));
  record.set_kind(audit::v1::CALL_ANSWERED);
  record.set_caller("spiffe://lg/ns/bench/sa/load");
  record.set_method("Borrow");
  record.set_decision(audit::v1::ALLOWED);
  record.set_rule("callers[spiffe://lg/ns/bench/sa/load]");
  record.set_reason("SUCCEEDED");
  record.set_code("OK");
  record.set_request_id("b503ca04-31e3-44ae-b840-a0fded2362f1");
  record.set_group_id(1001);
  record.set_asset("USDT");
  record.set_amount("1.5");
  record.set_outcome("SUCCEEDED");
  record.set_transaction_id("12317283617");
  for (auto _ : state) benchmark::DoNotOptimize(FormatAuditLine(record));
}
BENCHMARK(BM_FormatAuditLine);

}  // namespace
}  // namespace loan_gateway

BENCHMARK_MAIN();
