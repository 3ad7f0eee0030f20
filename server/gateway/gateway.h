#ifndef LOAN_GATEWAY_SERVER_GATEWAY_GATEWAY_H_
#define LOAN_GATEWAY_SERVER_GATEWAY_GATEWAY_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "audit/audit_log.h"
#include "breaker/ban_breaker.h"
#include "budget/shared_weight_store.h"
#include "budget/weight_budget.h"
#include "clock/binance_clock.h"
#include "clock/clock.h"
#include "clock/resync_loop.h"
#include "clock/scheduler.h"
#include "executor/group_commit_executor.h"
#include "executor/thread_pool_executor.h"
#include "halt/borrowing_halt.h"
#include "http/curl_multi_transport.h"
#include "journal/borrow_journal.h"
#include "loan_gateway/config/v1/gateway_config.pb.h"
#include "metrics/gateway_metrics.h"
#include "metrics/metrics_endpoint.h"
#include "policy/policy_store.h"
#include "reconcile/reconciler.h"
#include "reconcile/signed_reader.h"
#include "reconcile/upstream_probe.h"
#include "reflection/reflection_service.h"
#include "service/admin_service.h"
#include "service/loan_service.h"
#include "service/operation_pipeline.h"
#include "service/readiness_watch.h"
#include "service/risk_unit_reader.h"
#include "sign/key_ring.h"
#include "threads/watch_thread.h"
#include "transport/bounded_acceptor.h"

namespace loan_gateway {

using config::v1::GatewayConfig;

// What the gateways sharing a journal's database share besides the journal
// (--journal_url; null without it): the kill switch and the credit
// account's weight count.
struct SharedStores {
  std::unique_ptr<SharedHaltStore> halt;
  std::unique_ptr<SharedWeightStore> weight;
};

// The composition root: every component of a running gateway, built from one
// configuration. Members are declared in dependency order (each uses only
// those above it), so destruction, in reverse, is the shutdown order: the
// readiness watch, the metrics endpoint and the listener go first, the
// journal and the key last. The only exceptions are the journal thread and the
// timer thread, declared just below the pipeline that posts to them: they
// stop (running what was posted) before the pipeline they call goes.
class Gateway {
 public:
  // Reads the key files, opens the journal and builds every component.
  // Nothing listens yet. An error names the step that failed.
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(
      const GatewayConfig& config);
  ~Gateway();

  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Serves: the metrics endpoint, the gRPC listener and the readiness watch
  // that says SERVING once a borrow could be signed. `on_listener_stuck` runs
  // (once, on the watchdog's thread) if the listener stops accepting.
  absl::Status Start(std::function<void()> on_listener_stuck);

  int port() const;

  // Graceful drain, all within `timeout`: NOT_SERVING first; nothing more is
  // sent; every borrow already sent finishes, is journaled and answered.
  // Only then is the gRPC server shut down. False if borrows remain.
  bool Drain(absl::Duration timeout);

  // Reads --policy_file again (SIGHUP).
  void ReloadPolicy() { (void)policy_->Reload(); }
  // Reads --api_key_file and --private_key_file again (SIGHUP).
  void ReloadKeys() { (void)key_ring_->Reload(); }

  // Calls received and not yet answered.
  int unanswered_calls() const { return pipeline_.unanswered_calls(); }

 private:
  Gateway(const GatewayConfig& config, std::unique_ptr<WatchThread> watch,
          std::unique_ptr<KeyRing> key_ring,
          std::unique_ptr<BorrowJournal> journal,
          std::unique_ptr<PolicyStore> policy, std::unique_ptr<AuditLog> audit,
          SharedStores shared);
  void AuditPolicy(const absl::Status& loaded);
  void AuditKey(const absl::Status& loaded, const std::string& fingerprint);
  absl::Status StartMetrics();
  absl::Status StartGrpc(std::function<void()> on_listener_stuck);
  absl::Status StartHealth();
  void SetServing(bool serving);
  GatewayGauges Gauges() const;

  const GatewayConfig config_;
  // The gateway's own periodic checks, one after another: the key and policy
  // files, the listener's self-check and readiness. Readiness asks the
  // journal, which with --journal_url is a query: a database that stopped
  // answering holds this thread up to its session's timeouts, and the
  // listener's check waits that long.
  const std::unique_ptr<WatchThread> watch_;
  // The credit account's key (re-read when its files change): used by every
  // signed request below.
  const std::unique_ptr<KeyRing> key_ring_;
  const std::unique_ptr<BorrowJournal> journal_;
  // What every gateway of a shared journal reads and writes (null: none).
  const SharedStores shared_;
  const std::unique_ptr<PolicyStore> policy_;  // Who may call what.
  // Every decision, durable before it takes effect (fail closed).
  const std::unique_ptr<AuditLog> audit_;
  SystemClock clock_;
  CurlMultiTransport transport_;
  BinanceClock binance_clock_;
  const absl::Status first_sync_;  // Before anything below may sign.
  // The periodic reads of Binance (its time, the probe), one after another:
  // apart from the local checks, which must not wait for an upstream that
  // does not answer. Each read is bounded by the upstream timeout.
  WatchThread binance_poll_{"lg-binance-poll"};
  ResyncLoop resync_;
  const binance::Credentials credentials_;
  // This gateway's SAPI IP weight (12000 a minute): every signed read takes
  // from it (records 10, max-borrowable 100, ltv-details 3000).
  WeightBudget ip_budget_;
  const SignedReader reader_;
  UpstreamProbe probe_;
  WeightBudget budget_;
  BanBreaker breaker_;
  GatewayMetrics metrics_;
  // The kill switch (--halt_file, and the database with --journal_url).
  BorrowingHalt halt_;
  // What Binance last said each risk unit may borrow: the pre-flight's.
  BorrowLimitCache limits_;
  RiskUnitReader risk_units_;  // GetMaxBorrowable's signed reads.
  OperationPipeline pipeline_;
  CommitGroupHooks JournalGroupHooks();
  // The pipeline's executors, declared after it and in the order its stages
  // post to each other, so each stops (running what it holds) before what
  // its tasks use: window waits post to the journal, the journal to calls.
  ThreadPoolExecutor call_executor_{2,
                                    "lg-call"};  // Signing, sending, answering.
  // Journal reads and writes only, committed in groups (one fsync each).
  GroupCommitExecutor journal_executor_{JournalGroupHooks()};
  TimerThread scheduler_;  // Only the pipeline's window waits.
  // Reconciliation passes, on a thread of their own: a pass has no bound
  // (every unsettled record, pages of Binance's records each), and the probe
  // must not wait for one while Binance is silent.
  WatchThread reconcile_thread_{"lg-reconcile"};
  Reconciler reconciler_;
  LoanService service_;
  AdminService admin_;
  ReflectionV1Service reflection_v1_;
  ReflectionV1AlphaService reflection_v1alpha_;
  std::unique_ptr<grpc::Server> server_;
  // Plaintext, grpc.health.v1 only (--health_listen), for probes.
  grpc::CallbackGenericService health_only_;
  std::unique_ptr<grpc::Server> health_server_;
  std::unique_ptr<BoundedAcceptor> acceptor_;
  std::unique_ptr<ListenerWatchdog> watchdog_;
  // Scrapes read the components above: it goes first.
  std::unique_ptr<MetricsEndpoint> metrics_endpoint_;
  std::unique_ptr<ReadinessWatch> readiness_;
};

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_GATEWAY_GATEWAY_H_
