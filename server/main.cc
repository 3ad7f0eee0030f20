// loan-gateway: the gRPC service that signs borrows for a Binance
// institutional-loan credit account. See README.md for flags and behaviour.
#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "audit/audit_chain.h"
#include "audit/postgres_audit_table.h"
#include "config/command_line.h"
#include "config/gateway_config.h"
#include "contract/error_table.h"
#include "gateway/gateway.h"
#include "journal/journal_audit_sink.h"
#include "log/json_log.h"
#include "log/library_log_routing.h"
#include "proto_time/proto_time.h"
#include "runtime/runtime_tuning.h"
#include "sign/process_hardening.h"
#include "transport/open_file_limit.h"

namespace loan_gateway {
namespace {

int Print(const std::string& text) {
  std::fputs(text.c_str(), stdout);
  return 0;
}

int Fail(absl::string_view what, const absl::Status& status) {
  LogLine("error", "startup_failed")
      .Str("step", what)
      .Str("error", status.ToString())
      .Emit();
  return 2;
}

// --verify_audit FILE: the path, if it was asked for.
std::optional<std::string> VerifyAuditPath(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--verify_audit=")) return std::string(arg);
    if (arg == "--verify_audit" && i + 1 < argc) return argv[i + 1];
  }
  return std::nullopt;
}

// Checks the whole chain: 0 and its head when intact, 1 naming the first
// broken record, 2 when it cannot be read.
// A postgres:// URL verifies every chain of the journal's database (the
// password as libpq takes it: PGPASSWORD or PGPASSFILE).
int VerifyAuditTableAt(const std::string& url) {
  absl::StatusOr<std::vector<AuditChainHead>> heads = VerifyAuditTable(url, "");
  if (!heads.ok()) {
    std::fprintf(stderr, "audit_log table: %s\n",
                 std::string(heads.status().message()).c_str());
    return heads.status().code() == absl::StatusCode::kFailedPrecondition ? 1
                                                                          : 2;
  }
  for (const AuditChainHead& chain : *heads) {
    std::printf("chain %s: intact, head seq %llu sha256 %s\n",
                chain.chain.c_str(),
                static_cast<unsigned long long>(chain.head.seq),
                chain.head.sha256.c_str());
  }
  std::printf(
      "audit_log table: %zu chains intact (compare each head with the "
      "audit_log_opened and later lines of its gateway's log)\n",
      heads->size());
  return 0;
}

int VerifyAudit(const std::string& path) {
  if (absl::StartsWith(path, "postgres://") ||
      absl::StartsWith(path, "postgresql://")) {
    return VerifyAuditTableAt(path);
  }
  // A journal file: its audit_log table (--audit_in_journal).
  const bool journal = IsSqliteFile(path);
  absl::StatusOr<AuditHead> head =
      journal ? VerifySqliteAuditTable(path) : VerifyAuditFile(path);
  if (!head.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(),
                 std::string(head.status().message()).c_str());
    return head.status().code() == absl::StatusCode::kFailedPrecondition ? 1
                                                                         : 2;
  }
  std::printf(
      "%s%s: intact, %llu records; head seq %llu sha256 %s (compare it "
      "with the audit_log_opened lines of the gateway's log: only lines cut "
      "from the end cannot show in the chain itself)\n",
      path.c_str(), journal ? " (table audit_log)" : "",
      static_cast<unsigned long long>(head->seq),
      static_cast<unsigned long long>(head->seq), head->sha256.c_str());
  return 0;
}

// SIGHUP re-reads the access policy and the key files (it never stops a
// gateway with borrows in flight); TERM and INT drain.
int WaitForStopSignal(Gateway& gateway) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  int signal = 0;
  while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
    LogLine("info", "sighup")
        .Str("effect", "the policy file and the key files are read again")
        .Emit();
    gateway.ReloadPolicy();
    gateway.ReloadKeys();
  }
  return signal;
}

// Set when the listener watchdog finds the gRPC port deaf: the process drains
// and exits non-zero so that its supervisor restarts it.
std::atomic<bool> listener_stuck{false};

int Run(const GatewayConfig& config) {
  LogLine("info", "config").Str("settings", RedactedDump(config)).Emit();
  if (absl::Status descriptors =
          ReserveDescriptorsForConnections(config.server().max_connections() +
                                           config.metrics().max_connections());
      !descriptors.ok()) {
    return Fail("open_file_limit", descriptors);
  }
  absl::StatusOr<std::unique_ptr<Gateway>> gateway = Gateway::Create(config);
  if (!gateway.ok()) return Fail("start", gateway.status());
  if (absl::Status started = (*gateway)->Start([] {
        listener_stuck = true;
        kill(getpid(), SIGTERM);  // The same drain as an operator's stop.
      });
      !started.ok()) {
    return Fail("start", started);
  }
  const int stop_signal =
      WaitForStopSignal(**gateway);  // Before the line: its time.
  LogLine("info", "stopping").Int("signal", stop_signal).Emit();
  if (!(*gateway)->Drain(FromProtoDuration(config.server().drain_timeout()))) {
    // Intents are journaled; the next start reconciles them. Leave without
    // running destructors that calls still in flight would use.
    LogLine("error", "drain_timeout")
        .Int("in_flight", (*gateway)->unanswered_calls())
        .Emit();
    spdlog::default_logger_raw()->flush();
    std::_Exit(1);
  }
  gateway->reset();  // Components stop in the reverse of their building.
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
  // The allocator's trim threshold and absl's lock-order check: see
  // runtime/runtime_tuning.h.
  const bool runtime_tuned = loan_gateway::TuneRuntime();

  if (std::optional<std::string> audit =
          loan_gateway::VerifyAuditPath(argc, argv)) {
    return loan_gateway::VerifyAudit(*audit);
  }
  loan_gateway::InitJsonLog();
  loan_gateway::RouteLibraryLogsToJson();
  if (!runtime_tuned) {
    loan_gateway::LogLine("warn", "heap_trim_threshold")
        .Str("effect", "glibc refused it and keeps its default")
        .Emit();
  }
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
  absl::StatusOr<loan_gateway::GatewayStart> start =
      loan_gateway::LoadGatewayStart(
          std::vector<std::string>(argv, argv + argc), std::getenv, variables);
  if (!start.ok()) return loan_gateway::Fail("config", start.status());
  switch (start->action) {
    case loan_gateway::CommandLineAction::kRun:
      break;
    case loan_gateway::CommandLineAction::kHelp:
      return loan_gateway::Print(loan_gateway::GatewayUsage());
    case loan_gateway::CommandLineAction::kVersion:
      return loan_gateway::Print(loan_gateway::GatewayVersion() + "\n");
    case loan_gateway::CommandLineAction::kPrintErrorTable:
      return loan_gateway::Print(
          loan_gateway::contract::RenderErrorTableMarkdown());
    case loan_gateway::CommandLineAction::kPrintSettingsTable:
      return loan_gateway::Print(loan_gateway::RenderSettingsTableMarkdown());
  }
  const loan_gateway::GatewayConfig& config = start->config;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const int code = loan_gateway::Run(config);
  curl_global_cleanup();
  return code;
}
