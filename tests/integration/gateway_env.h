#ifndef LOAN_GATEWAY_TESTS_INTEGRATION_GATEWAY_ENV_H_
#define LOAN_GATEWAY_TESTS_INTEGRATION_GATEWAY_ENV_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "child_process.h"
#include "google/rpc/error_details.pb.h"
#include "http2_front.h"
#include "institutional_loan/v1/institutional_loan.grpc.pb.h"
#include "test_pki.h"

namespace loan_gateway::testing {

class GatewayEnv;

struct EnvOptions {
  std::string key_type = "ed25519";       // hmac | rsa | ed25519
  std::vector<std::string> fake_args;     // Extra flags for the fake.
  std::vector<std::string> gateway_args;  // Extra flags for the gateway.
  bool unreachable_first_url = false;  // Put a dead base URL before the fake.
  bool only_unreachable_urls = false;  // No reachable upstream at all.
  std::string
      upstream_path;  // Appended to the fake's URL (a misconfiguration).
  std::vector<std::string>
      faults_before_gateway;  // Queued before the gateway starts.
  // "soft:hard" RLIMIT_NOFILE the gateway starts with (prlimit); empty: ours.
  std::string open_file_limit;
  // When the test runs as root: run the gateway as this uid (setpriv), its
  // files handed to it, so that a same-user check is meaningful.
  int run_as_uid_if_root = -1;
  // Plaintext gRPC (--insecure_plaintext) instead of mutual TLS.
  bool insecure_plaintext = false;
  // The access policy (text format); empty: kTestCaller may do everything
  // on the fake's risk units (kAllowAllPolicy).
  std::string policy;
  // Another env whose fake (one Binance) and credit-account key this one's
  // gateway uses: a second gateway of the same account (fake_args, key_type
  // and faults_before_gateway are the other env's then). It must outlive
  // this one.
  const GatewayEnv* share_fake_of = nullptr;
  // The journal (with the halt, the weight count and the audit trail) in a
  // database of its own on the test binary's PostgreSQL server instead of
  // journal.db. Unset: LG_TEST_JOURNAL=postgres in the environment turns it
  // on, which is how ctest runs the money-safety suites against both
  // journals (tests/CMakeLists.txt).
  std::optional<bool> postgres_journal;
  // The audit trail as rows of journal.db (--audit_in_journal) instead of
  // audit.jsonl; SQLite journal only. Unset: LG_TEST_AUDIT=journal in the
  // environment turns it on (tests/CMakeLists.txt's "audit_in_journal." run).
  std::optional<bool> audit_in_journal;
  // The gateway reaches the fake through nginx offering HTTP/2 (Http2Front),
  // which closes a connection idle for `front_idle_timeout_s` or after
  // `front_requests_per_connection` requests.
  bool http2_front = false;
  int front_idle_timeout_s = 75;
  int front_requests_per_connection = 1000000;
};

// The caller identity of the client certificate every GatewayEnv uses.
inline constexpr char kTestCaller[] = "spiffe://lg/ns/treasury/sa/rebalancer";

// kTestCaller may call every InstitutionalLoan method for the fake's risk
// units and assets, with no limits of its own.
inline constexpr char kAllowAllPolicy[] = R"pb(
  callers {
    identity: "spiffe://lg/ns/treasury/sa/rebalancer"
    methods: [ "Borrow", "Repay", "GetBorrow", "ListOperations" ]
    methods: [ "GetMaxBorrowable", "GetRiskUnit" ]
    group_ids: [ 1001, 1002, 1003, 2001, 2002, 2003, 2004 ]
    group_ids: [ 3001, 3002, 3003, 3004, 4001, 4002, 424242 ]
    assets: [ ASSET_USDT, ASSET_USDC ]
  }
)pb";

struct LedgerEntry {
  std::string tran_id;
  int64_t group_id = 0;
  std::string asset;
  std::string amount;
  int64_t signed_ms = 0;  // The executed request's signed timestamp.
};

// One executed repay: what was asked and what the fake repaid.
struct RepayEntry {
  std::string tran_id;
  int64_t group_id = 0;
  std::string asset;
  std::string amount;  // Asked.
  std::string repaid;
};

struct FakeState {
  std::vector<LedgerEntry> borrows;
  std::vector<RepayEntry> repays;
  int64_t received_borrow = 0;
  int64_t received_time = 0;
  // Borrows or repays that arrived while another of the same risk unit was
  // being processed (one operation per risk unit at a time must hold).
  int64_t overlapping_operations = 0;
  std::vector<std::string> signatures;
  // Signed requests the fake accepted, per API key.
  std::map<std::string, int64_t> requests_by_key;
};

// A real Binance fake (HTTPS, CA made at start-up, fresh keys made with the
// openssl command line) and a real loan-gateway binary talking to it, its
// gRPC port on mutual TLS: a test CA issues the gateway's certificate and the
// client certificate of kTestCaller, which every call here presents. On
// destruction every byte the gateway printed is scanned for the API key, the
// secret and every signature the fake accepted.
class GatewayEnv {
 public:
  explicit GatewayEnv(const EnvOptions& options = {});
  ~GatewayEnv();

  grpc::Status Borrow(
      const institutional_loan::v1::BorrowRequest& request,
      institutional_loan::v1::BorrowResponse* response,
      std::chrono::milliseconds deadline = std::chrono::seconds(15));
  std::shared_ptr<grpc::Channel> channel() const;

  FakeState State();
  // The gateway's Prometheus text from its /metrics endpoint.
  std::string ScrapeMetrics();
  void InjectFault(const std::string& json);
  std::string FakeRequest(const std::string& path,
                          const std::string& post_json = "");

  // Extra output (e.g. of a CLI) to include in the secret scan.
  void ScanAlso(const std::string& output) { extra_output_ += output; }
  // More key material no output may hold (e.g. a key rotated in): an API key
  // or HMAC secret whole, a PEM key line by line.
  void ScanFor(const std::string& secret) { extra_secrets_.push_back(secret); }
  std::string GatewayLog() const {
    return ReadWholeFile(dir_ + "/gateway.log");
  }
  // The default --audit_log, beside the journal; with --audit_in_journal
  // the journal, which --verify_audit also takes.
  std::string audit_log_path() const {
    return dir_ + (audit_in_journal_ ? "/journal.db" : "/audit.jsonl");
  }
  // Its lines, from the file or the journal's table.
  std::string audit_log() const;
  bool audit_in_journal() const { return audit_in_journal_; }
  // Stops the gateway with SIGTERM; returns its exit status.
  int StopGateway();
  // Sends `signal` (e.g. SIGKILL) and waits; returns the exit status.
  int KillGateway(int signal);
  // Starts the gateway again on the same journal, fake and keys.
  void RestartGateway();
  // Sends SIGTERM without waiting (to test the drain).
  void SignalGateway(int signal);
  pid_t gateway_pid() const;
  // A new channel with its own connection (no shared reconnect backoff).
  void RestartChannel();
  const std::string& metrics_url() const { return metrics_url_; }
  const std::string& fake_url() const { return fake_url_; }
  // The HTTP/2 front (EnvOptions::http2_front), or nullptr.
  const Http2Front* front() const { return front_.get(); }
  Http2Front* front() { return front_.get(); }
  // Binance goes away (its process ends; its sockets close).
  void StopFake(int signal) {
    if (fake_ != nullptr) fake_->Stop(signal);
  }
  int WaitGateway();

  grpc::Status GetBorrow(const std::string& request_id,
                         institutional_loan::v1::GetBorrowResponse* response);
  // The record once settled (not PENDING or UNKNOWN), or as it is at
  // `give_up`; empty when nothing was journaled under the id.
  institutional_loan::v1::GetBorrowResponse AwaitSettled(
      const std::string& request_id, absl::Time give_up);

  const std::string& target() const { return target_; }
  // The test CA (issue more client certificates with it) and the caller's.
  const TestPki& pki() const { return *pki_; }
  const CertFiles& client_cert() const { return client_cert_; }
  const CertFiles& server_cert() const { return server_cert_; }
  // A new channel presenting `client` (nullptr: no client certificate) and
  // trusting the test CA.
  std::shared_ptr<grpc::Channel> ChannelAs(const CertFiles* client) const;
  // loanctl's argv: the binary, --target and the TLS flags, then `args`.
  std::vector<std::string> Loanctl(const std::vector<std::string>& args) const;
  // buf curl's TLS flags and the https:// URL of `method` ("" for the root).
  std::vector<std::string> BufCurlArgs(const std::string& method) const;
  const std::string& dir() const { return dir_; }
  // The rows `sql` reads from the gateway's journal, whichever it is (a
  // test's own look at what was made durable), each column as text.
  std::vector<std::vector<std::string>> JournalRows(
      const std::string& sql) const;
  // Where the gateway's --policy_file is (rewrite it to reload).
  std::string policy_file() const { return dir_ + "/policy.txtpb"; }

 private:
  void MakeKeys(const std::string& key_type);
  void StartFake(const EnvOptions& options);
  void ShareFakeOf(const GatewayEnv& other);
  void StartGateway(const EnvOptions& options);
  void MakeJournalDatabase();
  std::vector<std::string> JournalArgs();
  EnvOptions options_;
  void ScanForSecrets();
  void ResetChannel();

  std::string HttpGet(const std::string& url, const std::string& post_json);

  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;
  std::string dir_;
  std::string journal_url_;  // Without the password; empty: journal.db.
  bool audit_in_journal_ = false;
  bool journal_made_ = false;
  std::unique_ptr<TestPki> pki_;
  CertFiles server_cert_;
  CertFiles client_cert_;
  std::string api_key_;
  std::string secret_text_;  // HMAC secret or private key PEM.
  std::string fake_url_;
  std::string target_;
  std::string metrics_url_;
  std::string extra_output_;
  std::vector<std::string> extra_secrets_;
  std::unique_ptr<ChildProcess> fake_;
  std::unique_ptr<Http2Front> front_;
  std::unique_ptr<ChildProcess> gateway_;
  mutable std::mutex
      channel_mu_;  // Calls may be in flight while the gateway restarts.
  std::shared_ptr<grpc::Channel> channel_;
};

// The ErrorInfo among a status's details (empty when it has none).
google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& s);
// The ErrorInfo reason and outcome of a status (empty when it has none).
std::pair<std::string, std::string> ReasonAndOutcome(const grpc::Status& s);

institutional_loan::v1::BorrowRequest MakeBorrow(
    int64_t group, const std::string& amount,
    institutional_loan::v1::Asset asset = institutional_loan::v1::ASSET_USDT);

}  // namespace loan_gateway::testing

#endif  // LOAN_GATEWAY_TESTS_INTEGRATION_GATEWAY_ENV_H_
