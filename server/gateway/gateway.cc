#include "gateway/gateway.h"

#include <grpcpp/health_check_service_interface.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "binance/borrow_records.h"
#include "budget/postgres_weight_store.h"
#include "config/command_line.h"
#include "config/gateway_config.h"
#include "google/rpc/error_details.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "halt/postgres_halt_store.h"
#include "journal/journal_audit_sink.h"
#include "journal/postgres_borrow_journal.h"
#include "journal/sqlite_borrow_journal.h"
#include "log/json_log.h"
#include "proto_time/proto_time.h"
#include "transport/grpc_server_limits.h"
#include "transport/mutual_tls.h"
#include "transport/open_file_limit.h"

namespace loan_gateway {
namespace {

absl::Status InStep(absl::string_view step, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(step, ": ", status.message()));
}

// The first sync, before anything may sign: its result is logged either way.
absl::Status SyncClockAtStart(BinanceClock& binance_clock) {
  absl::Status synced = binance_clock.Sync(absl::Seconds(5));
  if (!synced.ok()) {
    LogLine("warn", "server_time_sync_failed")
        .Str("error", synced.ToString())
        .Str("effect", "borrows are refused with CLOCK_SKEW until it succeeds")
        .Emit();
    return synced;
  }
  LogLine("info", "server_time_synced")
      .Ms("offset_ms", binance_clock.offset()->offset)
      .Ms("uncertainty_ms", binance_clock.offset()->uncertainty)
      .Emit();
  return synced;
}

// Every later sync: only a failure is news.
absl::Status Resync(BinanceClock& binance_clock) {
  absl::Status synced = binance_clock.Sync(absl::Seconds(5));
  if (!synced.ok()) {
    LogLine("warn", "server_time_sync_failed")
        .Str("error", synced.ToString())
        .Emit();
  }
  return synced;
}

std::vector<std::string> BaseUrls(const GatewayConfig& config) {
  return {config.upstream().base_urls().begin(),
          config.upstream().base_urls().end()};
}

std::vector<std::string> ServedServices() {
  return {institutional_loan::v1::InstitutionalLoan::service_full_name(),
          admin::v1::GatewayAdmin::service_full_name(), "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection"};
}

// Mutual TLS unless the operator said, by name, that plaintext is wanted.
std::shared_ptr<grpc::ServerCredentials> ListenerCredentials(
    const config::v1::AccessConfig& access) {
  if (access.insecure_plaintext()) {
    LogLine("warn", "insecure_plaintext")
        .Str("effect",
             "the gRPC port has no TLS: callers are not authenticated and "
             "are named by their address; anyone who can connect is a caller")
        .Emit();
    return grpc::InsecureServerCredentials();
  }
  return MutualTlsServerCredentials(
      {.cert_file = access.tls_cert_file(),
       .key_file = access.tls_key_file(),
       .client_ca_file = access.client_ca_file(),
       .reload_interval = FromProtoDuration(access.tls_reload_interval())});
}

// --audit_log's file; or rows of the journal's table audit_log, written in
// its transactions (AuditInJournal): with --journal_url a chain of this
// process (no volume needed), with --audit_in_journal the SQLite file's one.
absl::StatusOr<std::unique_ptr<AuditLog>> OpenAuditLog(
    const GatewayConfig& config, BorrowJournal* journal) {
  // The audit log's clock stamps records; the system's, like the gateway's.
  static const SystemClock audit_clock;
  if (!AuditInJournal(config)) {
    return AuditLog::Open(AuditLogPath(config), &audit_clock);
  }
  std::string chain;
  std::string name =
      absl::StrCat("table audit_log of journal ", config.journal().path());
  if (!config.journal().url().empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    chain =
        absl::StrCat(host, "/", getpid(), "/", absl::ToUnixMillis(absl::Now()));
    name = absl::StrCat("table audit_log, chain ", chain);
  }
  return AuditLog::OpenDriven(
      std::make_unique<JournalAuditSink>(journal, chain, std::move(name)),
      &audit_clock);
}

// The SQLite file, or a PostgreSQL database when --journal_url says so.
absl::StatusOr<std::unique_ptr<BorrowJournal>> OpenJournal(
    const config::v1::JournalConfig& config) {
  const JournalOpenOptions options = {.create_if_missing = config.create(),
                                      .password_file = config.password_file()};
  if (!config.url().empty()) {
    absl::StatusOr<std::unique_ptr<PostgresBorrowJournal>> journal =
        PostgresBorrowJournal::Open(config.url(), options);
    if (!journal.ok()) return journal.status();
    return std::unique_ptr<BorrowJournal>(*std::move(journal));
  }
  absl::StatusOr<std::unique_ptr<SqliteBorrowJournal>> journal =
      SqliteBorrowJournal::Open(config.path(), options);
  if (!journal.ok()) return journal.status();
  return std::unique_ptr<BorrowJournal>(*std::move(journal));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(
    const GatewayConfig& config) {
  auto watch = std::make_unique<WatchThread>("lg-watch");
  // Its errors name the step: api_key_file, private_key_file or signer.
  absl::StatusOr<std::unique_ptr<KeyRing>> key_ring = KeyRing::Open(
      config.credentials().api_key_file(),
      config.credentials().private_key_file(),
      *ParseKeyType(config.credentials().key_type()),
      FromProtoDuration(config.credentials().key_reload_interval()),
      watch.get());
  if (!key_ring.ok()) return key_ring.status();
  absl::StatusOr<std::unique_ptr<BorrowJournal>> journal =
      OpenJournal(config.journal());
  if (!journal.ok()) return InStep("journal", journal.status());
  // A halt through any gateway of a shared journal stops them all, and
  // outlives the gateway it went through; the account's weight is counted
  // once for all of them.
  SharedStores shared;
  if (!config.journal().url().empty()) {
    absl::StatusOr<std::unique_ptr<PostgresHaltStore>> halt =
        PostgresHaltStore::Open(config.journal().url(),
                                config.journal().password_file());
    if (!halt.ok()) return InStep("halt", halt.status());
    shared.halt = *std::move(halt);
    absl::StatusOr<std::unique_ptr<PostgresWeightStore>> weight =
        PostgresWeightStore::Open(config.journal().url(),
                                  config.journal().password_file());
    if (!weight.ok()) return InStep("weight", weight.status());
    shared.weight = *std::move(weight);
  }
  absl::StatusOr<std::unique_ptr<PolicyStore>> policy = PolicyStore::Open(
      config.access().policy_file(),
      FromProtoDuration(config.access().policy_reload_interval()), watch.get());
  if (!policy.ok()) return InStep("policy", policy.status());
  if ((*policy)->Current() == nullptr) {
    LogLine("warn", "no_access_policy")
        .Str("effect",
             "insecure sandbox: every caller may borrow for any risk unit")
        .Emit();
  }
  absl::StatusOr<std::unique_ptr<AuditLog>> audit =
      OpenAuditLog(config, journal->get());
  if (!audit.ok()) return InStep("audit_log", audit.status());
  const AuditHead head = (*audit)->head();
  // The head, kept in the logs too: the one thing a chain cannot show
  // itself is lines cut from its end.
  LogLine("info", "audit_log_opened")
      .Str("path", (*audit)->path())
      .Int("seq", static_cast<int64_t>(head.seq))
      .Str("sha256", head.sha256)
      .Emit();
  return std::unique_ptr<Gateway>(new Gateway(
      config, std::move(watch), *std::move(key_ring), *std::move(journal),
      *std::move(policy), *std::move(audit), std::move(shared)));
}

Gateway::Gateway(const GatewayConfig& config,
                 std::unique_ptr<WatchThread> watch,
                 std::unique_ptr<KeyRing> key_ring,
                 std::unique_ptr<BorrowJournal> journal,
                 std::unique_ptr<PolicyStore> policy,
                 std::unique_ptr<AuditLog> audit, SharedStores shared)
    : config_(config),
      watch_(std::move(watch)),
      key_ring_(std::move(key_ring)),
      journal_(std::move(journal)),
      shared_(std::move(shared)),
      policy_(std::move(policy)),
      audit_(std::move(audit)),
      transport_(
          {.ca_file = config_.upstream().ca_file(),
           .max_connections =
               static_cast<size_t>(config_.upstream().max_connections()),
           .queue_limit = static_cast<size_t>(config_.upstream().queue_limit()),
           .http2 = config_.upstream().http2()}),
      binance_clock_(clock_, transport_, BaseUrls(config_)),
      first_sync_(SyncClockAtStart(binance_clock_)),
      // Synced at start: the next one after the interval, so that the
      // probe's first read does not wait behind it.
      resync_(binance_poll_, [this] { return Resync(binance_clock_); },
              {.interval = FromProtoDuration(config_.clock().sync_interval()),
               .first = first_sync_.ok()
                            ? FromProtoDuration(config_.clock().sync_interval())
                            : absl::ZeroDuration()}),
      credentials_{.ring = key_ring_.get()},
      ip_budget_(clock_, config_.borrow().ip_weight_limit(),
                 SignedReader::kRecordsWeight, WeightBudget::Scope::kIp),
      reader_(BaseUrls(config_), config_.upstream().recv_window_ms(),
              transport_, binance_clock_, credentials_, &ip_budget_),
      probe_(
          binance_poll_,
          [this] {
            return reader_
                .Get(binance::kBorrowRecordsPath,
                     {{"type", "BORROW"}, {"size", "1"}})
                .status();
          },
          FromProtoDuration(config_.upstream().probe_interval())),
      budget_(clock_, config_.borrow().uid_weight_limit(),
              WeightBudget::kBorrowWeight, WeightBudget::Scope::kUid,
              shared_.weight.get()),
      breaker_(clock_),
      metrics_([this] { return Gauges(); }),
      halt_(HaltFilePath(config_), shared_.halt.get()),
      risk_units_(config_.upstream(), {.transport = &transport_,
                                       .binance_clock = &binance_clock_,
                                       .credentials = credentials_,
                                       .clock = &clock_,
                                       .breaker = &breaker_,
                                       .limits = &limits_,
                                       .ip_budget = &ip_budget_}),
      pipeline_(config_.upstream(), config_.borrow(),
                // The executors are declared after the pipeline (they stop
                // first); only their addresses are taken here.
                {.transport = &transport_,
                 .binance_clock = &binance_clock_,
                 .credentials = credentials_,
                 .clock = &clock_,
                 .budget = &budget_,
                 .breaker = &breaker_,
                 .journal = journal_.get(),
                 .journal_executor = &journal_executor_,
                 .call_executor = &call_executor_,
                 .scheduler = &scheduler_,
                 .metrics = &metrics_,
                 .halt = &halt_,
                 .audit = audit_.get(),
                 .limits = &limits_}),
      reconciler_(config_.upstream(), config_.reconcile(),
                  {.transport = &transport_,
                   .binance_clock = &binance_clock_,
                   .credentials = credentials_,
                   .journal = journal_.get(),
                   .clock = &clock_,
                   .ip_budget = &ip_budget_,
                   .in_flight =
                       [this](const std::string& id) {
                         return pipeline_.WorkingOn(id);
                       }}),
      service_(pipeline_, *journal_, !config_.access().insecure_plaintext(),
               *policy_, audit_.get(), &risk_units_, &call_executor_),
      admin_({.halt = &halt_,
              .policy = policy_.get(),
              .clock = &clock_,
              .certificates_required = !config_.access().insecure_plaintext(),
              .requests_in_flight =
                  [this] { return pipeline_.requests_in_flight(); },
              .audit = audit_.get(),
              .answers = &call_executor_}),
      reflection_v1_(ServedServices()),
      reflection_v1alpha_(ServedServices()) {
  if (std::optional<HaltRecord> halt = halt_.Current()) {
    LogLine("warn", "borrowing_halted")
        .Str("by", halt->by)
        .Str("reason", halt->reason)
        .Str("halt_file", halt_.path())
        .Str("effect", "no borrow is sent until ResumeBorrowing")
        .Emit();
  }
  if (AuditInJournal(config_)) {
    // A record appended outside the journal's groups gets one of its own
    // (an empty task); one appended inside a group goes with its writes.
    audit_->SetWaker([this] {
      if (journal_executor_.InGroup()) return false;
      journal_executor_.Post([] {});
      return true;
    });
  }
  AuditPolicy(absl::OkStatus());
  AuditKey(absl::OkStatus(), key_ring_->Current()->fingerprint);
  key_ring_->OnReload(
      [this](const absl::Status& loaded, const std::string& fingerprint) {
        AuditKey(loaded, fingerprint);
      });
  policy_->OnReload(
      [this](const absl::Status& loaded) { AuditPolicy(loaded); });
  // Settles first whatever a previous process left open.
  reconciler_.Start(reconcile_thread_);
}

// The journal executor's groups are the journal's transactions; a commit's
// time is the durable write a borrow waits for.
// With the audit trail in the journal the records appended in a group are
// its last writes, and their callers hear of them once it committed.
CommitGroupHooks Gateway::JournalGroupHooks() {
  CommitGroupHooks hooks = {
      .begin = [this] { return journal_->BeginGroup(); },
      .commit = [this] { return journal_->CommitGroup(); },
      .observe =
          [this](size_t, absl::Duration commit) {
            metrics_.RecordJournalWrite(commit);
          }};
  if (AuditInJournal(config_)) {
    hooks.finish_writes = [this] { audit_->WriteQueued(); };
    hooks.committed = [this](const absl::Status& committed) {
      audit_->Committed(committed);
    };
    // Records appended while the executor drains still get their groups;
    // one appended after its thread stopped waits for the audit log's
    // destructor, which writes it.
    hooks.stopped = [this] { audit_->SetWaker(nullptr); };
  }
  return hooks;
}

// Which policy was in force when is part of what the trail must prove.
void Gateway::AuditPolicy(const absl::Status& loaded) {
  audit::v1::AuditRecord record;
  record.set_kind(loaded.ok() ? audit::v1::POLICY_LOADED
                              : audit::v1::POLICY_REFUSED);
  std::shared_ptr<const AccessPolicy> policy = policy_->Current();
  record.set_detail(
      !loaded.ok() ? absl::StrCat(loaded.message(),
                                  "; the last good policy stays in force")
      : policy == nullptr
          ? "no policy: insecure sandbox, every caller may do everything"
          : absl::StrCat(policy->callers(), " callers from ",
                         config_.access().policy_file()));
  audit_->Append(std::move(record), nullptr);
}

// Which key signed when: a fingerprint, never the key.
void Gateway::AuditKey(const absl::Status& loaded,
                       const std::string& fingerprint) {
  audit::v1::AuditRecord record;
  record.set_kind(loaded.ok() ? audit::v1::KEY_LOADED : audit::v1::KEY_REFUSED);
  record.set_detail(
      loaded.ok() ? absl::StrCat("api_key_sha256 ", fingerprint, " in force")
                  : absl::StrCat(loaded.message(), "; api_key_sha256 ",
                                 fingerprint, " stays in force"));
  audit_->Append(std::move(record), nullptr);
}

Gateway::~Gateway() {
  // The reload observers write to the audit log, which goes before them.
  policy_->OnReload(nullptr);
  key_ring_->OnReload(nullptr);
  // Health is the drain's from here on; the listener goes before the server.
  if (readiness_) readiness_->Stop();
}

absl::Status Gateway::Start(std::function<void()> on_listener_stuck) {
  if (absl::Status metrics = StartMetrics(); !metrics.ok()) return metrics;
  if (absl::Status grpc = StartGrpc(std::move(on_listener_stuck)); !grpc.ok()) {
    return grpc;
  }
  if (absl::Status health = StartHealth(); !health.ok()) return health;
  // SERVING only while a borrow could be signed: the journal is the one
  // opened, Binance's time is known well enough, and Binance answers a
  // signed read with this key.
  probe_.AwaitFirst(absl::Seconds(2));
  readiness_ = std::make_unique<ReadinessWatch>(
      *watch_,
      std::vector<ReadinessWatch::Condition>{
          {"journal", [this] { return journal_->CheckWriter(); }},
          {"audit",
           [this] {
             return audit_->writable() ? absl::OkStatus()
                                       : absl::UnavailableError(
                                             "the audit log cannot be "
                                             "written");
           }},
          {"clock", [this] { return pipeline_.CheckClock(); }},
          {"upstream", [this] { return probe_.status(); }}},
      [this](bool serving) { SetServing(serving); }, absl::Milliseconds(250));
  return absl::OkStatus();
}

absl::Status Gateway::StartMetrics() {
  if (config_.metrics().listen().empty()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> started =
      MetricsEndpoint::Start(
          config_.metrics().listen(), metrics_,
          static_cast<int>(config_.metrics().max_connections()));
  if (!started.ok()) return InStep("metrics", started.status());
  metrics_endpoint_ = *std::move(started);
  if (!config_.metrics().port_file().empty()) {
    std::ofstream(config_.metrics().port_file())
        << metrics_endpoint_->port() << "\n";
  }
  LogLine("info", "metrics_listening")
      .Int("port", metrics_endpoint_->port())
      .Emit();
  return absl::OkStatus();
}

absl::Status Gateway::StartGrpc(std::function<void()> on_listener_stuck) {
  // Link grpc.health.v1's descriptors so reflection can describe Health, and
  // the error details (google.rpc.*), which must be in the pool it serves.
  grpc::health::v1::HealthCheckRequest::descriptor();
  google::rpc::ErrorInfo::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  ApplyGrpcServerLimits(
      {.max_concurrent_streams =
           static_cast<int>(config_.server().max_concurrent_streams()),
       .max_receive_message_bytes =
           static_cast<int>(config_.server().max_message_bytes()),
       .handshake_timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(
           FromProtoDuration(config_.server().handshake_timeout()))),
       .max_connection_idle_ms = static_cast<int>(absl::ToInt64Milliseconds(
           FromProtoDuration(config_.server().max_connection_idle()))),
       .min_client_ping_interval_ms =
           static_cast<int>(absl::ToInt64Milliseconds(FromProtoDuration(
               config_.server().min_client_ping_interval())))},
      builder);
  // gRPC gets its connections from the gateway's own accept loop (see
  // BoundedAcceptor), not from a listening port of its own.
  std::shared_ptr<grpc::experimental::ExternalConnectionAcceptor> handoff =
      builder.experimental().AddExternalConnectionAcceptor(
          grpc::ServerBuilder::experimental_type::ExternalConnectionType::
              FROM_FD,
          ListenerCredentials(config_.access()));
  builder.RegisterService(&service_);
  builder.RegisterService(&admin_);
  builder.RegisterService(&reflection_v1_);
  builder.RegisterService(&reflection_v1alpha_);
  absl::StatusOr<std::unique_ptr<BoundedAcceptor>> acceptor =
      BoundedAcceptor::Listen({.listen = config_.server().listen(),
                               .max_connections = static_cast<int>(
                                   config_.server().max_connections())});
  if (!acceptor.ok()) return InStep("listen", acceptor.status());
  acceptor_ = *std::move(acceptor);
  server_ = builder.BuildAndStart();
  if (!server_) {
    return InStep("listen",
                  absl::UnavailableError("gRPC server did not start"));
  }
  // Health starts NOT_SERVING; the readiness watch says when it may serve.
  server_->GetHealthCheckService()->SetServingStatus(false);
  acceptor_->Start([handoff](int listener_fd, int fd) {
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
    p.listener_fd = listener_fd;
    p.fd = fd;
    handoff->HandleNewConnection(&p);
  });
  if (!config_.server().port_file().empty()) {
    std::ofstream(config_.server().port_file()) << port() << "\n";
  }
  LogLine("info", "listening")
      .Int("port", port())
      .Int("max_connections", config_.server().max_connections())
      .Emit();
  watchdog_ = std::make_unique<ListenerWatchdog>(
      *watch_, *acceptor_, absl::Seconds(2), 3, std::move(on_listener_stuck));
  return absl::OkStatus();
}

absl::Status Gateway::StartHealth() {
  if (config_.server().health_listen().empty()) return absl::OkStatus();
  // The default health service, and for every other method UNIMPLEMENTED
  // (the generic service's default; gRPC needs one callback service).
  grpc::ServerBuilder builder;
  builder.RegisterCallbackGenericService(&health_only_);
  int port = 0;
  builder.AddListeningPort(config_.server().health_listen(),
                           grpc::InsecureServerCredentials(), &port);
  health_server_ = builder.BuildAndStart();
  if (!health_server_ || port == 0) {
    return InStep("health_listen",
                  absl::UnavailableError(absl::StrCat(
                      "cannot listen on ", config_.server().health_listen())));
  }
  health_server_->GetHealthCheckService()->SetServingStatus(false);
  if (!config_.server().health_port_file().empty()) {
    std::ofstream(config_.server().health_port_file()) << port << "\n";
  }
  LogLine("info", "health_listening")
      .Int("port", port)
      .Str("serves", "grpc.health.v1 only, plaintext")
      .Emit();
  return absl::OkStatus();
}

void Gateway::SetServing(bool serving) {
  if (server_) server_->GetHealthCheckService()->SetServingStatus(serving);
  if (health_server_) {
    health_server_->GetHealthCheckService()->SetServingStatus(serving);
  }
}

int Gateway::port() const { return acceptor_ ? acceptor_->port() : 0; }

// gRPC's Shutdown cancels the calls it still has, and a cancelled caller
// would hear UNAVAILABLE for a borrow that may have executed: the pipeline
// empties first.
bool Gateway::Drain(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (readiness_) readiness_->Stop();
  SetServing(false);
  pipeline_.BeginDrain();
  while (pipeline_.unanswered_calls() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (pipeline_.unanswered_calls() > 0) return false;
  // No scrape reads the listener from here on.
  metrics_endpoint_.reset();
  if (health_server_) health_server_->Shutdown(absl::ToChronoTime(absl::Now()));
  if (server_) {
    server_->Shutdown(
        absl::ToChronoTime(std::max(deadline, absl::Now() + absl::Seconds(1))));
  }
  return true;
}

GatewayGauges Gateway::Gauges() const {
  GatewayGauges g;
  g.uid_weight_used = budget_.used();
  g.uid_weight_limit = budget_.limit();
  g.ip_weight_used = ip_budget_.used();
  if (std::optional<BinanceClock::Offset> offset = binance_clock_.offset()) {
    g.clock_offset_seconds = absl::ToDoubleSeconds(offset->offset);
    g.clock_uncertainty_seconds = absl::ToDoubleSeconds(offset->uncertainty);
  }
  if (std::optional<absl::Time> synced = binance_clock_.last_synced_at()) {
    g.clock_sync_age_seconds = absl::ToDoubleSeconds(clock_.Now() - *synced);
  }
  g.breaker_open = breaker_.open();
  const UnsettledCount unsettled = journal_->CountUnsettled(
      [this](const std::string& id) { return pipeline_.WorkingOn(id); });
  g.unknown_pending = unsettled.unsettled;
  g.ambiguous_pending = unsettled.ambiguous;
  g.journal_intact = journal_->CheckIntact().ok();
  g.journal_writer = journal_->writer();
  g.calls_in_flight = pipeline_.unanswered_calls();
  if (acceptor_) {
    g.grpc_connections = acceptor_->open_connections();
    g.grpc_connections_refused = acceptor_->refused_total();
    g.grpc_accept_failures = acceptor_->accept_failures_total();
  }
  g.open_files = OpenFileCount();
  g.version = GatewayVersion();
  g.upstream_ready = probe_.status().ok();
  g.reconcile_errors = reconciler_.errors_total();
  g.policy_reload_failures = policy_->reload_failures();
  g.key_reload_failures = key_ring_->reload_failures();
  g.audit_write_failures = static_cast<int64_t>(audit_->write_failures());
  g.audit_records = static_cast<int64_t>(audit_->head().seq);
  g.borrowing_halted = halt_.Current().has_value();
  return g;
}

}  // namespace loan_gateway
