// What a borrow cannot avoid, composed, and nothing else: bench/floor's M.
// Serves InstitutionalLoan.Borrow over mutual TLS with the gateway's own
// parts (its validator, request builder and Ed25519 signer, HTTP transport,
// group-commit executor) but none of its features: no identity or policy
// check, no risk-unit turns, halt, budgets or breaker, no audit chain, log
// line or metrics, and a journal of one table whose rows have one index.
// A valid request: one durable row (its intent), its signature, one POST to
// the upstream, one durable row (its outcome), the answer. An invalid one:
// one durable row (the refusal), then INVALID_ARGUMENT with the validator's
// BadRequest. So A + B + 2·D is its floor as much as the gateway's, and what
// the gateway adds above M is what its features cost.
//   --stages inline   everything on gRPC's thread, one transaction a row:
//                     the floor's parts one after another (one caller only)
//   --stages gateway  the gateway's thread layout: gRPC → journal (group
//                     commit) → call pool (sign) → HTTP loop → journal →
//                     call pool (answer)
//   minimal_gateway --port_file F --cert C --key K --ca CA --upstream URL
//                   --upstream_ca CA --private_key_file PEM --journal DB
//                   [--stages inline|gateway]
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "api/request_id.h"
#include "bench_server.h"
#include "binance/borrow_response.h"
#include "binance/signed_request.h"
#include "executor/group_commit_executor.h"
#include "executor/thread_pool_executor.h"
#include "http/curl_multi_transport.h"
#include "institutional_loan/v1/institutional_loan.grpc.pb.h"
#include "runtime/runtime_tuning.h"
#include "service/grpc_status.h"
#include "sign/signer.h"
#include "validate/borrow_request_validator.h"

namespace {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;
using loan_gateway::HttpRequest;
using loan_gateway::HttpResult;

// One table, one row a write, as bench/sqlite_commit's D commits them, keyed
// by the request's id (the gateway's idempotency key) with the kind of row.
class RowJournal {
 public:
  RowJournal(const RowJournal&) = delete;
  RowJournal& operator=(const RowJournal&) = delete;
  explicit RowJournal(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK ||
        sqlite3_exec(db_,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, "
                     "kind TEXT, group_id INTEGER, amount TEXT, "
                     "created_ms INTEGER);",
                     nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db_,
                           "INSERT INTO rows VALUES (?, ?, ?, ?, ?) "
                           "ON CONFLICT (id) DO NOTHING",
                           -1, &insert_, nullptr) != SQLITE_OK) {
      throw std::runtime_error("cannot open the journal " + path);
    }
  }
  ~RowJournal() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  absl::Status Exec(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK
               ? absl::OkStatus()
               : absl::InternalError(sqlite3_errmsg(db_));
  }
  absl::Status Insert(const std::string& request_id, const char* kind,
                      int64_t group_id, const std::string& amount) {
    const std::string id = request_id + "/" + kind;
    sqlite3_bind_text(insert_, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert_, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert_, 3, group_id);
    sqlite3_bind_text(insert_, 4, amount.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert_, 5, absl::ToUnixMillis(absl::Now()));
    const int rc = sqlite3_step(insert_);
    sqlite3_reset(insert_);
    return rc == SQLITE_DONE ? absl::OkStatus()
                             : absl::InternalError(sqlite3_errmsg(db_));
  }
  // A row in a transaction of its own (the inline stages).
  absl::Status Commit(const std::string& request_id, const char* kind,
                      int64_t group_id, const std::string& amount) {
    absl::MutexLock lock(&mu_);
    absl::Status status = Exec("BEGIN IMMEDIATE");
    if (status.ok()) status = Insert(request_id, kind, group_id, amount);
    if (status.ok()) return Exec("COMMIT");
    Exec("ROLLBACK").IgnoreError();
    return status;
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  absl::Mutex mu_;
};

struct Upstream {
  std::string base_url;
  std::string ca_file;
  loan_gateway::Secret api_key{std::string("bench-api-key")};
  std::unique_ptr<loan_gateway::Signer> signer;
};

absl::StatusOr<HttpRequest> SignedBorrow(const loan_gateway::ValidBorrow& valid,
                                         const Upstream& upstream) {
  return loan_gateway::binance::BuildBorrowRequest(
      valid, upstream.base_url, absl::ToUnixMillis(absl::Now()), 5000,
      {&upstream.api_key, upstream.signer.get()});
}

grpc::Status Answer(const HttpResult& result, const BorrowRequest& request,
                    BorrowResponse* response) {
  if (result.delivery != loan_gateway::Delivery::kCompleted ||
      result.status != 200) {
    return grpc::Status(grpc::StatusCode::UNKNOWN, "the upstream failed");
  }
  auto receipt = loan_gateway::binance::ParseBorrowReceipt(result.body);
  if (!receipt.ok()) return loan_gateway::ToGrpcStatus(receipt.status());
  response->set_transaction_id(receipt->transaction_id);
  response->set_amount(request.amount());
  response->set_group_id(request.group_id());
  return grpc::Status::OK;
}

size_t Collect(char* data, size_t size, size_t items, void* out) {
  static_cast<std::string*>(out)->append(data, size * items);
  return size * items;
}

// One blocking POST on the calling thread through one handle, its
// connection kept alive whichever of gRPC's threads calls (one caller).
HttpResult PostInline(const HttpRequest& request, const std::string& ca_file) {
  static absl::Mutex mu(absl::kConstInit);
  static CURL* const handle = curl_easy_init();
  absl::MutexLock lock(&mu);
  curl_slist* headers = nullptr;
  for (const std::string& header : request.headers) {
    headers = curl_slist_append(headers, header.c_str());
  }
  HttpResult result;
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(handle, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.c_str());
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &result.body);
  if (curl_easy_perform(handle) == CURLE_OK) {
    result.delivery = loan_gateway::Delivery::kCompleted;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &result.status);
  }
  curl_slist_free_all(headers);
  return result;
}

class MinimalLoanService final
    : public institutional_loan::v1::InstitutionalLoan::CallbackService {
 public:
  MinimalLoanService(RowJournal* rows, Upstream* upstream, bool inline_stages)
      : rows_(rows), upstream_(upstream), inline_stages_(inline_stages) {
    if (inline_stages_) return;
    journal_ = std::make_unique<loan_gateway::GroupCommitExecutor>(
        loan_gateway::CommitGroupHooks{
            .begin = [rows] { return rows->Exec("BEGIN IMMEDIATE"); },
            .commit = [rows] { return rows->Exec("COMMIT"); }});
    calls_ = std::make_unique<loan_gateway::ThreadPoolExecutor>(2, "lg-call");
    transport_ = std::make_unique<loan_gateway::CurlMultiTransport>(
        loan_gateway::CurlTransportOptions{.ca_file = upstream->ca_file});
  }

 private:
  grpc::ServerUnaryReactor* Borrow(grpc::CallbackServerContext* context,
                                   const BorrowRequest* request,
                                   BorrowResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    auto valid = loan_gateway::ValidateBorrowRequest(*request);
    // As the gateway: the caller's idempotency key, or one made here.
    std::string id = request->request_id().empty()
                         ? loan_gateway::api::NewRequestId()
                         : request->request_id();
    response->set_request_id(id);
    if (inline_stages_) {
      reactor->Finish(BorrowInline(valid, id, *request, response));
    } else if (!valid.ok()) {
      Refuse(reactor, valid.status(), id, *request);
    } else {
      Journal(
          "intent", id, *request,
          [this, reactor, id, request, response, valid = *std::move(valid)] {
            SignAndSend(reactor, valid, id, *request, response);
          });
    }
    return reactor;
  }

  grpc::Status BorrowInline(
      const absl::StatusOr<loan_gateway::ValidBorrow>& valid,
      const std::string& id, const BorrowRequest& request,
      BorrowResponse* response) {
    const char* kind = valid.ok() ? "intent" : "refusal";
    absl::Status row =
        rows_->Commit(id, kind, request.group_id(), request.amount());
    if (!row.ok()) return loan_gateway::ToGrpcStatus(row);
    if (!valid.ok()) return loan_gateway::ToGrpcStatus(valid.status());
    auto signed_request = SignedBorrow(*valid, *upstream_);
    if (!signed_request.ok()) {
      return loan_gateway::ToGrpcStatus(signed_request.status());
    }
    const HttpResult result = PostInline(*signed_request, upstream_->ca_file);
    row = rows_->Commit(id, "outcome", request.group_id(), request.amount());
    if (!row.ok()) return loan_gateway::ToGrpcStatus(row);
    return Answer(result, request, response);
  }

  // Writes a row in the journal's next group; `then` runs on the call pool
  // once the group holding it is durable (what the gateway waits for).
  void Journal(const char* kind, const std::string& id,
               const BorrowRequest& request, std::function<void()> then) {
    journal_->Post([this, kind, id, group_id = request.group_id(),
                    amount = request.amount(), then = std::move(then)] {
      absl::Status row = rows_->Insert(id, kind, group_id, amount);
      journal_->AfterCommit([this, row, then](const absl::Status& committed) {
        if (!row.ok() || !committed.ok()) {
          std::fprintf(stderr, "minimal_gateway: the journal failed\n");
          std::abort();  // A reference, not a product: stop loudly.
        }
        calls_->Post(then);
      });
    });
  }

  void Refuse(grpc::ServerUnaryReactor* reactor, absl::Status refusal,
              const std::string& id, const BorrowRequest& request) {
    Journal("refusal", id, request, [reactor, refusal = std::move(refusal)] {
      reactor->Finish(loan_gateway::ToGrpcStatus(refusal));
    });
  }

  void SignAndSend(grpc::ServerUnaryReactor* reactor,
                   const loan_gateway::ValidBorrow& valid,
                   const std::string& id, const BorrowRequest& request,
                   BorrowResponse* response) {
    auto signed_request = SignedBorrow(valid, *upstream_);
    if (!signed_request.ok()) {
      reactor->Finish(loan_gateway::ToGrpcStatus(signed_request.status()));
      return;
    }
    transport_->Send(*std::move(signed_request), [this, reactor, id, &request,
                                                  response](HttpResult result) {
      auto answer = std::make_shared<HttpResult>(std::move(result));
      Journal("outcome", id, request, [reactor, answer, &request, response] {
        reactor->Finish(Answer(*answer, request, response));
      });
    });
  }

  RowJournal* const rows_;
  Upstream* const upstream_;
  const bool inline_stages_;
  // Destroyed transport first (what it still completes is journaled), then
  // the journal (what it runs posts to the call pool), then the pool.
  std::unique_ptr<loan_gateway::ThreadPoolExecutor> calls_;
  std::unique_ptr<loan_gateway::GroupCommitExecutor> journal_;
  std::unique_ptr<loan_gateway::CurlMultiTransport> transport_;
};

}  // namespace

int Run(int argc, char** argv) {
  // The gateway's own process settings, so that what differs is its features.
  loan_gateway::TuneRuntime();
  CLI::App app{"minimal_gateway: a borrow's floor, composed"};
  std::string listen = "127.0.0.1:0", port_file, cert, key, ca, journal;
  std::string private_key_file, stages = "gateway";
  Upstream upstream;
  app.add_option("--listen", listen);
  app.add_option("--port_file", port_file)->required();
  app.add_option("--cert", cert)->required();
  app.add_option("--key", key)->required();
  app.add_option("--ca", ca, "the CA client certificates chain to")->required();
  app.add_option("--upstream", upstream.base_url)->required();
  app.add_option("--upstream_ca", upstream.ca_file)->required();
  app.add_option("--private_key_file", private_key_file, "Ed25519, PKCS#8 PEM")
      ->required();
  app.add_option("--journal", journal, "a new SQLite file")->required();
  app.add_option("--stages", stages)
      ->check(CLI::IsMember({"inline", "gateway"}));
  CLI11_PARSE(app, argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto signer = loan_gateway::MakeSigner(
      loan_gateway::KeyType::kEd25519,
      loan_gateway::Secret(bench::ReadFile(private_key_file)));
  if (!signer.ok()) {
    std::fprintf(stderr, "minimal_gateway: %s\n",
                 std::string(signer.status().message()).c_str());
    return 1;
  }
  upstream.signer = *std::move(signer);
  RowJournal rows(journal);
  MinimalLoanService service(&rows, &upstream, stages == "inline");
  return bench::ServeUntilKilled("minimal_gateway", &service, listen,
                                 bench::MutualTls(ca, cert, key), port_file);
}

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minimal_gateway: %s\n", e.what());
    return 1;
  }
}
