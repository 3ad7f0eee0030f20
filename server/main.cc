// loan-gateway: the gRPC service that signs borrows for a Binance
// institutional-loan credit account. See README.md for flags and behaviour.
#include <curl/curl.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "binance/borrow_records.h"
#include "binance/error_table.h"
#include "clock/resync_loop.h"
#include "clock/scheduler.h"
#include "clock/server_time.h"
#include "config/command_line.h"
#include "config/gateway_config.h"
#include "google/rpc/error_details.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "http/curl_multi_transport.h"
#include "journal/borrow_journal.h"
#include "journal/serial_executor.h"
#include "log/json_log.h"
#include "log/library_log_routing.h"
#include "metrics/gateway_metrics.h"
#include "metrics/metrics_endpoint.h"
#include "reconcile/reconciler.h"
#include "reconcile/signed_reader.h"
#include "reconcile/upstream_probe.h"
#include "reflection/reflection_service.h"
#include "service/borrow_pipeline.h"
#include "service/loan_service.h"
#include "service/readiness_watch.h"
#include "sign/process_hardening.h"
#include "sign/signer.h"
#include "transport/bounded_acceptor.h"
#include "transport/grpc_server_limits.h"
#include "transport/open_file_limit.h"

ABSL_FLAG(bool, print_error_table, false,
          "print the error contract as Markdown and exit");

namespace loan_gateway {
namespace {

int Fail(absl::string_view what, const absl::Status& status) {
  LogLine("error", "startup_failed")
      .Str("step", what)
      .Str("error", status.ToString())
      .Emit();
  return 2;
}

absl::StatusOr<std::unique_ptr<Signer>> LoadSigner(
    const GatewayConfig& config) {
  absl::StatusOr<Secret> private_key =
      Secret::FromFile(config.private_key_file);
  if (!private_key.ok()) return private_key.status();
  return MakeSigner(config.key_type, *std::move(private_key));
}

void SyncClockAtStart(ServerTime& server_time) {
  if (absl::Status synced = server_time.Sync(absl::Seconds(5)); !synced.ok()) {
    LogLine("warn", "server_time_sync_failed")
        .Str("error", synced.ToString())
        .Str("effect", "borrows are refused with CLOCK_SKEW until it succeeds")
        .Emit();
    return;
  }
  LogLine("info", "server_time_synced")
      .Ms("offset_ms", server_time.offset()->offset)
      .Ms("uncertainty_ms", server_time.offset()->uncertainty)
      .Emit();
}

// SIGHUP (a closed terminal, a reload by habit) must not kill a gateway with
// borrows in flight: it is logged and ignored; TERM and INT drain.
int WaitForStopSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
    LogLine("info", "sighup_ignored")
        .Str("effect", "nothing: SIGTERM drains and stops")
        .Emit();
  }
  return signal;
}

// Graceful drain, all within `timeout`: NOT_SERVING first; nothing more is
// sent (borrows waiting for their turn and new ones are refused as not
// sent); every borrow already sent finishes, is journaled and answered with
// its outcome. Only then is the server shut down: gRPC's Shutdown cancels
// calls it still has, and a cancelled caller would hear UNAVAILABLE for a
// borrow that may have executed. False if borrows remain at the deadline.
bool Drain(grpc::Server& server, BorrowPipeline& pipeline,
           absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  server.GetHealthCheckService()->SetServingStatus(false);
  pipeline.BeginDrain();
  while (pipeline.in_flight_count() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (pipeline.in_flight_count() > 0) return false;
  server.Shutdown(
      absl::ToChronoTime(std::max(deadline, absl::Now() + absl::Seconds(1))));
  return true;
}

// Descriptors kept free beyond the connection caps: journal, upstream
// sockets, the self-check, gRPC's own.
constexpr int64_t kReservedDescriptors = 256;

// Raises the open-file limit and checks the connection caps fit below it, so
// that no number of peers can make an accept() fail for want of descriptors.
absl::Status CheckDescriptorBudget(const GatewayConfig& config) {
  absl::StatusOr<OpenFileLimit> limit = RaiseOpenFileLimitToHard();
  if (!limit.ok()) return limit.status();
  LogLine("info", "open_file_limit")
      .Int("soft_before", static_cast<int64_t>(limit->soft_before))
      .Int("soft", static_cast<int64_t>(limit->soft))
      .Int("hard", static_cast<int64_t>(limit->hard))
      .Emit();
  const int64_t needed = config.max_grpc_connections +
                         config.max_metrics_connections + kReservedDescriptors;
  if (static_cast<uint64_t>(needed) > limit->soft) {
    return absl::FailedPreconditionError(
        absl::StrCat("--max_grpc_connections + --max_metrics_connections + ",
                     kReservedDescriptors, " reserved = ", needed,
                     " exceeds the open-file limit ", limit->soft,
                     ": lower the caps or raise the hard limit (ulimit -Hn)"));
  }
  return absl::OkStatus();
}

// Set when the listener watchdog finds the gRPC port deaf: the process drains
// and exits non-zero so that its supervisor restarts it.
std::atomic<bool> listener_stuck{false};

int Run(const GatewayConfig& config) {
  LogLine("info", "config").Str("settings", config.RedactedDump()).Emit();
  if (absl::Status budget = CheckDescriptorBudget(config); !budget.ok()) {
    return Fail("open_file_limit", budget);
  }
  absl::StatusOr<Secret> api_key = Secret::FromFile(config.api_key_file);
  if (!api_key.ok()) return Fail("api_key_file", api_key.status());
  absl::StatusOr<std::unique_ptr<Signer>> signer = LoadSigner(config);
  if (!signer.ok()) return Fail("signer", signer.status());
  absl::StatusOr<std::unique_ptr<BorrowJournal>> journal = BorrowJournal::Open(
      config.journal_path, {.create_if_missing = config.create_journal});
  if (!journal.ok()) return Fail("journal", journal.status());

  SystemClock clock;
  CurlMultiTransport transport({.ca_file = config.upstream_ca_file});
  ServerTime server_time(clock, transport, config.upstream_base_urls);
  SyncClockAtStart(server_time);
  ResyncLoop resync(
      [&server_time] {
        absl::Status synced = server_time.Sync(absl::Seconds(5));
        if (!synced.ok()) {
          LogLine("warn", "server_time_sync_failed")
              .Str("error", synced.ToString())
              .Emit();
        }
        return synced;
      },
      {.interval = config.time_sync_interval});

  const binance::Credentials credentials{.api_key = &*api_key,
                                         .signer = signer->get()};
  const SignedReader reader(config.upstream_base_urls, config.recv_window_ms,
                            transport, server_time, credentials);
  UpstreamProbe probe(
      [&reader] {
        return reader
            .Get(binance::kBorrowRecordsPath,
                 {{"type", "BORROW"}, {"size", "1"}})
            .status();
      },
      config.upstream_probe_interval);
  WeightBudget budget(clock, config.uid_weight_limit);
  BanBreaker breaker(clock);
  auto journal_executor = std::make_unique<SerialExecutor>();
  auto scheduler = std::make_unique<TimerThread>();
  BorrowPipeline* pipeline_for_gauges = nullptr;
  std::atomic<BoundedAcceptor*> grpc_connections{nullptr};
  const Reconciler* reconciler_for_gauges = nullptr;
  GatewayMetrics metrics([&]() {
    GatewayGauges g;
    g.uid_weight_used = budget.used();
    g.uid_weight_limit = budget.limit();
    if (std::optional<ServerTime::Offset> offset = server_time.offset()) {
      g.clock_offset_seconds = absl::ToDoubleSeconds(offset->offset);
      g.clock_uncertainty_seconds = absl::ToDoubleSeconds(offset->uncertainty);
    }
    if (std::optional<absl::Time> synced = server_time.last_synced_at()) {
      g.clock_sync_age_seconds = absl::ToDoubleSeconds(clock.Now() - *synced);
    }
    g.breaker_open = breaker.open();
    if (auto unsettled = (*journal)->Unsettled(); unsettled.ok()) {
      for (const JournalRecord& r : *unsettled) {
        if (pipeline_for_gauges == nullptr ||
            !pipeline_for_gauges->InFlight(r.request_id)) {
          ++g.unknown_pending;
          if (absl::StartsWith(r.note, "ambiguous")) ++g.ambiguous_pending;
        }
      }
    }
    g.journal_intact = (*journal)->CheckIntact().ok();
    g.calls_in_flight =
        pipeline_for_gauges ? pipeline_for_gauges->in_flight_count() : 0;
    if (const BoundedAcceptor* grpc = grpc_connections.load()) {
      g.grpc_connections = grpc->open_connections();
      g.grpc_connections_refused = grpc->refused_total();
      g.grpc_accept_failures = grpc->accept_failures_total();
    }
    g.open_files = OpenFileCount();
    g.version = GatewayVersion();
    g.upstream_ready = probe.status().ok();
    if (const Reconciler* r = reconciler_for_gauges) {
      g.reconcile_errors = r->errors_total();
    }
    return g;
  });
  BorrowPipeline pipeline(
      {.base_urls = config.upstream_base_urls,
       .recv_window_ms = config.recv_window_ms,
       .upstream_timeout = config.upstream_timeout,
       .max_clock_uncertainty = config.max_clock_uncertainty,
       .min_time_to_send = config.min_call_deadline,
       .risk_unit_queue_limit =
           static_cast<size_t>(config.risk_unit_queue_limit)},
      {.transport = &transport,
       .server_time = &server_time,
       .credentials = credentials,
       .clock = &clock,
       .budget = &budget,
       .breaker = &breaker,
       .journal = journal->get(),
       .journal_executor = journal_executor.get(),
       .scheduler = scheduler.get(),
       .metrics = &metrics});
  pipeline_for_gauges = &pipeline;
  auto reconciler = std::make_unique<Reconciler>(
      ReconcilerOptions{.base_urls = config.upstream_base_urls,
                        .recv_window_ms = config.recv_window_ms,
                        .interval = config.reconcile_interval,
                        .settle_after = config.reconcile_settle_after,
                        .retention = config.journal_retention},
      ReconcilerDeps{.transport = &transport,
                     .server_time = &server_time,
                     .credentials = credentials,
                     .journal = journal->get(),
                     .clock = &clock,
                     .in_flight = [&](const std::string& id) {
                       return pipeline.InFlight(id);
                     }});
  reconciler_for_gauges = reconciler.get();
  reconciler->Start();  // Settles first whatever a previous process left open.
  LoanService service(pipeline, **journal);
  std::unique_ptr<MetricsEndpoint> metrics_server;
  if (!config.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsEndpoint>> started =
        MetricsEndpoint::Start(
            config.metrics_listen, metrics,
            static_cast<int>(config.max_metrics_connections));
    if (!started.ok()) return Fail("metrics", started.status());
    metrics_server = *std::move(started);
    if (!config.metrics_port_file.empty()) {
      std::ofstream(config.metrics_port_file) << metrics_server->port() << "\n";
    }
    LogLine("info", "metrics_listening")
        .Int("port", metrics_server->port())
        .Emit();
  }

  // Link grpc.health.v1's descriptors so reflection can describe Health.
  grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  ApplyGrpcServerLimits(
      {.max_concurrent_streams =
           static_cast<int>(config.grpc_max_concurrent_streams),
       .max_receive_message_bytes =
           static_cast<int>(config.grpc_max_message_bytes),
       .handshake_timeout_ms = static_cast<int>(
           absl::ToInt64Milliseconds(config.grpc_handshake_timeout)),
       .max_connection_idle_ms = static_cast<int>(
           absl::ToInt64Milliseconds(config.grpc_max_connection_idle)),
       .min_client_ping_interval_ms = static_cast<int>(
           absl::ToInt64Milliseconds(config.grpc_min_client_ping_interval))},
      builder);
  // gRPC gets its connections from the gateway's own accept loop (see
  // BoundedAcceptor), not from a listening port of its own.
  std::shared_ptr<grpc::experimental::ExternalConnectionAcceptor> handoff =
      builder.experimental().AddExternalConnectionAcceptor(
          grpc::ServerBuilder::experimental_type::ExternalConnectionType::
              FROM_FD,
          grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  // Error details (google.rpc.*) must be in the pool reflection serves.
  google::rpc::ErrorInfo::descriptor();
  const std::vector<std::string> services = {
      institutional_loan::v1::InstitutionalLoan::service_full_name(),
      "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection"};
  ReflectionV1Service reflection_v1(services);
  ReflectionV1AlphaService reflection_v1alpha(services);
  builder.RegisterService(&reflection_v1);
  builder.RegisterService(&reflection_v1alpha);
  absl::StatusOr<std::unique_ptr<BoundedAcceptor>> acceptor =
      BoundedAcceptor::Listen(
          {.listen = config.listen,
           .max_connections = static_cast<int>(config.max_grpc_connections)});
  if (!acceptor.ok()) return Fail("listen", acceptor.status());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    return Fail("listen", absl::UnavailableError("gRPC server did not start"));
  }
  // Health starts NOT_SERVING; ReadinessWatch below says when it may serve.
  server->GetHealthCheckService()->SetServingStatus(false);
  (*acceptor)->Start([handoff](int listener_fd, int fd) {
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
    p.listener_fd = listener_fd;
    p.fd = fd;
    handoff->HandleNewConnection(&p);
  });
  const int port = (*acceptor)->port();
  if (!config.port_file.empty())
    std::ofstream(config.port_file) << port << "\n";
  LogLine("info", "listening")
      .Int("port", port)
      .Int("max_connections", config.max_grpc_connections)
      .Emit();
  auto watchdog =
      std::make_unique<ListenerWatchdog>(**acceptor, absl::Seconds(2), 3, [] {
        listener_stuck = true;
        kill(getpid(), SIGTERM);  // The same drain as an operator's stop.
      });
  grpc_connections = acceptor->get();
  // SERVING only while a borrow could be signed: the journal is the one
  // opened, Binance's time is known well enough, and Binance answers a
  // signed read with this key.
  probe.AwaitFirst(absl::Seconds(2));
  ReadinessWatch readiness(
      {{"journal", [&] { return (*journal)->CheckIntact(); }},
       {"clock", [&] { return pipeline.CheckClock(); }},
       {"upstream", [&] { return probe.status(); }}},
      [&server](bool serving) {
        server->GetHealthCheckService()->SetServingStatus(serving);
      },
      absl::Milliseconds(250));

  const int stop_signal = WaitForStopSignal();  // Before the line: its time.
  LogLine("info", "stopping").Int("signal", stop_signal).Emit();
  readiness.Stop();
  if (!Drain(*server, pipeline, config.drain_timeout)) {
    // Intents are journaled; the next start reconciles them. Leave without
    // running destructors that calls still in flight would use.
    LogLine("error", "drain_timeout")
        .Int("in_flight", pipeline.in_flight_count())
        .Emit();
    spdlog::default_logger_raw()->flush();
    std::_Exit(1);
  }
  // Nothing may touch the pipeline after this: stop the reconciler and the
  // timers, then let the journal thread finish its last task, before the
  // pipeline goes.
  metrics_server.reset();  // No scrape reads the acceptor from here on.
  watchdog.reset();
  grpc_connections = nullptr;
  acceptor->reset();
  reconciler.reset();
  scheduler.reset();
  journal_executor.reset();
  LogLine("info", "stopped").Int("listener_stuck", listener_stuck).Emit();
  return listener_stuck ? 3 : 0;
}

}  // namespace
}  // namespace loan_gateway

int main(int argc, char** argv) {
  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  loan_gateway::InitJsonLog();
  loan_gateway::RouteLibraryLogsToJson();
  if (absl::Status hardened = loan_gateway::HardenProcessForSecrets();
      !hardened.ok()) {
    loan_gateway::LogLine("warn", "process_hardening")
        .Str("error", hardened.ToString())
        .Emit();
  }
  std::vector<std::string> variables;
  for (char** v = environ; *v != nullptr; ++v) {
    variables.emplace_back(*v, std::strcspn(*v, "="));
  }
  if (absl::Status env = loan_gateway::RejectUnknownGatewayVariables(variables);
      !env.ok()) {
    return loan_gateway::Fail("environment", env);
  }
  if (absl::Status env = loan_gateway::ApplyEnvironmentToFlags(std::getenv);
      !env.ok()) {
    return loan_gateway::Fail("environment", env);
  }
  absl::StatusOr<loan_gateway::CommandLineAction> action =
      loan_gateway::ParseGatewayCommandLine(
          std::vector<std::string>(argv, argv + argc));
  if (!action.ok()) return loan_gateway::Fail("command_line", action.status());
  if (*action == loan_gateway::CommandLineAction::kHelp) {
    std::fputs(loan_gateway::GatewayUsage().c_str(), stdout);
    return 0;
  }
  if (*action == loan_gateway::CommandLineAction::kVersion) {
    std::printf("%s\n", loan_gateway::GatewayVersion().c_str());
    return 0;
  }
  if (absl::GetFlag(FLAGS_print_error_table)) {
    std::fputs(loan_gateway::binance::RenderErrorTableMarkdown().c_str(),
               stdout);
    return 0;
  }
  absl::StatusOr<loan_gateway::GatewayConfig> config =
      loan_gateway::LoadGatewayConfig();
  if (!config.ok()) return loan_gateway::Fail("config", config.status());
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const int code = loan_gateway::Run(*config);
  curl_global_cleanup();
  return code;
}
