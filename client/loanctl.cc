// loanctl: a command-line client for loan-gateway, on the typed client library.
// It connects with mutual TLS as the caller its certificate names:
//   loanctl --ca ca.pem --cert me.pem --key me-key.pem borrow --group 1001
//       --asset USDT --amount 1000.5
//   loanctl ... borrow ... --validate-only   (a dry run: nothing is sent)
//   loanctl ... get --request-id <uuid>
//   loanctl ... health
//   loanctl ... list [--group 1001] [--state UNKNOWN] [--all]
//   loanctl ... repay --group 1001 --asset USDT --amount 500
//   loanctl ... max --group 1001 --asset USDT  |  unit --group 1001
//   loanctl ... halt --reason "incident 4711"  |  resume  |  halt-state
//     (the kill switch: callers the policy marks as admin)
// --ca/--cert/--key may come from LOANCTL_CA, LOANCTL_CERT, LOANCTL_KEY.
// Exit codes: 0 ok, 2 usage error, 3 invalid argument, 4 failed precondition
// (e.g. borrow limit), 5 outcome unknown, 6 unavailable (health: not
// serving), 7 rate limited, 8 previous transaction pending, 9 not found,
// 10 credentials rejected, 11 request_id conflict, 12 not allowed by the
// gateway's access policy, 1 other.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "api/asset_code.h"
#include "error_report.h"
#include "gateway_channel.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "loan_client.h"
#include "loan_gateway/admin/v1/gateway_admin.grpc.pb.h"

namespace {

using loan_gateway::client::LoanClient;

int PrintError(const loan_gateway::client::BorrowError& error, bool json) {
  if (json) {
    std::cout << loan_gateway::client::FormatJson(error.report) << "\n";
  } else {
    std::cerr << loan_gateway::client::FormatHuman(error.report);
  }
  return loan_gateway::client::ExitCodeFor(error.kind);
}

int Borrow(LoanClient& client, int64_t group, const std::string& asset,
           const std::string& amount,
           const loan_gateway::client::BorrowOptions& options, bool json) {
  loan_gateway::client::BorrowResult r = client.Borrow(
      group, loan_gateway::api::AssetFromCode(asset), amount, options);
  if (r.error) return PrintError(*r.error, json);
  const auto& b = *r.borrowed;
  if (json) {
    std::cout << "{\"transaction_id\":\"" << b.transaction_id
              << "\",\"amount\":\"" << b.amount << "\",\"request_id\":\""
              << b.request_id << "\",\"group_id\":" << b.group_id
              << (b.validated ? ",\"validated\":true" : "") << "}\n";
  } else if (b.validated) {
    std::cout << "valid, not sent: " << b.amount << " " << b.asset
              << " for risk unit " << b.group_id
              << " would be borrowed now\n  request_id:     " << b.request_id
              << "\n";
  } else {
    std::cout << "borrowed " << b.amount << " " << b.asset << " for risk unit "
              << b.group_id << "\n  transaction_id: " << b.transaction_id
              << "\n  request_id:     " << b.request_id << "\n";
  }
  return 0;
}

int Get(LoanClient& client, const std::string& request_id,
        absl::Duration timeout, bool json) {
  institutional_loan::v1::GetBorrowResponse r;
  grpc::Status status = client.GetBorrow(request_id, &r, timeout);
  if (!status.ok()) {
    const int code =
        PrintError(loan_gateway::client::ClassifyError(status), json);
    return status.error_code() == grpc::StatusCode::NOT_FOUND ? 9 : code;
  }
  const std::string state =
      institutional_loan::v1::BorrowState_Name(r.state()).substr(13);
  const std::string how =
      institutional_loan::v1::BorrowResolution_Name(r.resolution()).substr(18);
  if (json) {
    std::cout << "{\"request_id\":\"" << r.request_id() << "\",\"state\":\""
              << state << "\",\"resolution\":\"" << how
              << "\",\"transaction_id\":\"" << r.transaction_id()
              << "\",\"group_id\":" << r.group_id() << ",\"amount\":\""
              << r.amount() << "\",\"reconciliation_note\":\""
              << absl::CEscape(r.reconciliation_note()) << "\"}\n";
  } else {
    std::cout << state << " (" << how
              << ")\n  request_id:     " << r.request_id()
              << "\n  risk unit:      " << r.group_id()
              << "\n  amount:         " << r.amount() << " "
              << loan_gateway::api::AssetCode(r.asset()) << "\n";
    if (!r.transaction_id().empty())
      std::cout << "  transaction_id: " << r.transaction_id() << "\n";
    if (r.has_error())
      std::cout << "  error:          " << r.error().message() << "\n";
    if (!r.reconciliation_note().empty())
      std::cout << "  note:           " << r.reconciliation_note() << "\n";
  }
  return 0;
}

// The journal's operations, newest first, one line each; every page with
// `all`, else one (and the token of the next).
int List(const std::shared_ptr<grpc::Channel>& channel,
         institutional_loan::v1::ListOperationsRequest request, bool all,
         absl::Duration timeout, bool json) {
  LoanClient client(channel);
  while (true) {
    institutional_loan::v1::ListOperationsResponse page;
    grpc::Status status = client.ListOperations(request, &page, timeout);
    if (!status.ok()) {
      return PrintError(loan_gateway::client::ClassifyError(status), json);
    }
    for (const auto& op : page.operations()) {
      const auto& r = op.record();
      const std::string state =
          institutional_loan::v1::BorrowState_Name(r.state()).substr(13);
      if (json) {
        std::cout << "{\"request_id\":\"" << r.request_id()
                  << "\",\"caller\":\"" << absl::CEscape(op.caller())
                  << "\",\"state\":\"" << state
                  << "\",\"group_id\":" << r.group_id() << ",\"asset\":\""
                  << loan_gateway::api::AssetCode(r.asset())
                  << "\",\"amount\":\"" << r.amount()
                  << "\",\"transaction_id\":\"" << r.transaction_id()
                  << "\"}\n";
      } else {
        const std::string kind =
            r.kind() == institutional_loan::v1::OPERATION_KIND_REPAY ? "repay "
                                                                     : "borrow";
        std::cout << r.request_id() << "  " << kind << "  " << state << "  "
                  << r.group_id() << "  " << r.amount() << " "
                  << loan_gateway::api::AssetCode(r.asset()) << "  "
                  << r.transaction_id() << "  " << op.caller() << "\n";
      }
    }
    if (page.next_page_token().empty()) return 0;
    if (!all) {
      if (!json) {
        std::cout << "next page: --page-token " << page.next_page_token()
                  << "\n";
      }
      return 0;
    }
    request.set_page_token(page.next_page_token());
  }
}

// Repays up to `amount`; prints what was asked and what Binance repaid.
int Repay(LoanClient& client, int64_t group, const std::string& asset,
          const std::string& amount, const std::string& request_id,
          absl::Duration timeout, bool json) {
  institutional_loan::v1::RepayRequest request;
  request.set_group_id(group);
  request.set_asset(loan_gateway::api::AssetFromCode(asset));
  request.set_amount(amount);
  request.set_request_id(
      request_id.empty() ? loan_gateway::client::NewRequestId() : request_id);
  institutional_loan::v1::RepayResponse r;
  grpc::Status status = client.Repay(request, &r, timeout);
  if (!status.ok()) {
    auto error = loan_gateway::client::ClassifyError(status);
    error.report.metadata.emplace("request_id", request.request_id());
    return PrintError(error, json);
  }
  if (json) {
    std::cout << "{\"transaction_id\":\"" << r.transaction_id()
              << "\",\"requested_amount\":\"" << r.requested_amount()
              << "\",\"repaid_amount\":\"" << r.repaid_amount()
              << "\",\"request_id\":\"" << r.request_id()
              << "\",\"group_id\":" << r.group_id() << "}\n";
  } else {
    std::cout << "repaid " << r.repaid_amount() << " " << asset << " (asked "
              << r.requested_amount() << ") for risk unit " << r.group_id()
              << "\n  transaction_id: " << r.transaction_id()
              << "\n  request_id:     " << r.request_id() << "\n";
  }
  return 0;
}

// What Binance says the risk unit may still borrow of the asset.
int Max(const std::shared_ptr<grpc::Channel>& channel, int64_t group,
        const std::string& asset, absl::Duration timeout, bool json) {
  institutional_loan::v1::GetMaxBorrowableResponse response;
  grpc::Status status = LoanClient(channel).GetMaxBorrowable(
      group, loan_gateway::api::AssetFromCode(asset), &response, timeout);
  if (!status.ok()) {
    return PrintError(loan_gateway::client::ClassifyError(status), json);
  }
  const std::string& amount = response.max_borrowable_amount();
  if (json) {
    std::cout << "{\"group_id\":" << response.group_id() << ",\"asset\":\""
              << asset << "\",\"max_borrowable_amount\":\"" << amount
              << "\"}\n";
  } else {
    std::cout << "risk unit " << response.group_id() << " may borrow "
              << (amount.empty() ? "(Binance does not know)" : amount) << " "
              << asset << "\n";
  }
  return 0;
}

// A risk unit's state at Binance: LTV, equity, margin, what is owed.
int Unit(const std::shared_ptr<grpc::Channel>& channel, int64_t group,
         absl::Duration timeout, bool json) {
  institutional_loan::v1::GetRiskUnitResponse u;
  grpc::Status status = LoanClient(channel).GetRiskUnit(group, &u, timeout);
  if (!status.ok()) {
    return PrintError(loan_gateway::client::ClassifyError(status), json);
  }
  if (json) {
    std::cout << "{\"group_id\":" << u.group_id() << ",\"ltv\":\"" << u.ltv()
              << "\",\"total_net_equity\":\"" << u.total_net_equity()
              << "\",\"total_liability\":\"" << u.total_liability()
              << "\",\"max_allowed_borrow_limit\":\""
              << u.max_allowed_borrow_limit() << "\"}\n";
    return 0;
  }
  std::cout << "risk unit " << u.group_id()
            << "\n  ltv:                  " << u.ltv()
            << "\n  net equity:           " << u.total_net_equity()
            << "\n  maintenance margin:   " << u.total_maintenance_margin()
            << "\n  liability:            " << u.total_liability()
            << "\n  max allowed borrow:   " << u.max_allowed_borrow_limit()
            << "\n";
  for (const auto& l : u.liabilities()) {
    std::cout << "  owes " << l.principal() << " " << l.asset_name()
              << " (interest " << l.interest() << ")\n";
  }
  return 0;
}

// The kill switch (GatewayAdmin): `action` is halt, resume or halt-state.
int Admin(const std::shared_ptr<grpc::Channel>& channel,
          const std::string& action, const std::string& reason,
          absl::Duration timeout, bool json) {
  auto stub = loan_gateway::admin::v1::GatewayAdmin::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  loan_gateway::admin::v1::BorrowingState state;
  grpc::Status status;
  if (action == "halt") {
    loan_gateway::admin::v1::HaltBorrowingRequest request;
    request.set_reason(reason);
    loan_gateway::admin::v1::HaltBorrowingResponse response;
    status = stub->HaltBorrowing(&context, request, &response);
    state = response.state();
  } else if (action == "resume") {
    loan_gateway::admin::v1::ResumeBorrowingRequest request;
    request.set_reason(reason);
    loan_gateway::admin::v1::ResumeBorrowingResponse response;
    status = stub->ResumeBorrowing(&context, request, &response);
    state = response.state();
  } else {
    loan_gateway::admin::v1::GetBorrowingStateResponse response;
    status = stub->GetBorrowingState(
        &context, loan_gateway::admin::v1::GetBorrowingStateRequest(),
        &response);
    state = response.state();
  }
  if (!status.ok()) {
    return PrintError(loan_gateway::client::ClassifyError(status), json);
  }
  if (json) {
    std::cout << "{\"halted\":" << (state.halted() ? "true" : "false")
              << ",\"halted_by\":\"" << absl::CEscape(state.halted_by())
              << "\",\"reason\":\"" << absl::CEscape(state.reason())
              << "\",\"borrows_in_flight\":" << state.borrows_in_flight()
              << ",\"persisted\":" << (state.persisted() ? "true" : "false")
              << "}\n";
  } else if (state.halted()) {
    std::cout << "borrowing HALTED by " << state.halted_by()
              << (state.reason().empty() ? "" : ": " + state.reason())
              << "\n  borrows in flight (finishing): "
              << state.borrows_in_flight() << "\n";
    if (!state.persisted()) {
      std::cout << "  warning: the halt file could not be written; the halt "
                   "ends with the gateway's process\n";
    }
  } else {
    std::cout << "borrowing is on\n";
  }
  return 0;
}

// One Check, bounded by `timeout`.
// Waiting, the call itself waits for the connection: a synchronous channel
// makes progress only while a call polls it, and a TLS handshake started
// between two fail-fast calls would stall until the server gives up on it.
grpc::Status CheckOnce(const std::shared_ptr<grpc::Channel>& channel,
                       absl::Duration timeout, bool wait,
                       grpc::health::v1::HealthCheckResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.set_wait_for_ready(wait);
  return grpc::health::v1::Health::NewStub(channel)->Check(
      &context, grpc::health::v1::HealthCheckRequest(), response);
}

// With `wait`, asks again every 500 ms until SERVING or `timeout` has passed
// (a container or a script waiting for the gateway to be able to borrow).
int Health(const std::shared_ptr<grpc::Channel>& channel,
           absl::Duration timeout, bool wait, bool json) {
  const absl::Time end = absl::Now() + timeout;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = CheckOnce(channel, timeout, wait, &response);
  while (wait && absl::Now() < end &&
         (!status.ok() || response.status() !=
                              grpc::health::v1::HealthCheckResponse::SERVING)) {
    absl::SleepFor(std::min(absl::Milliseconds(500), end - absl::Now()));
    status =
        CheckOnce(channel, std::max(end - absl::Now(), absl::Milliseconds(100)),
                  wait, &response);
  }
  if (!status.ok()) {
    if (json) {
      std::cout << "{\"status\":\"UNREACHABLE\",\"error\":\""
                << absl::CEscape(status.error_message()) << "\"}\n";
    } else {
      std::cerr << "health: " << status.error_message() << "\n";
    }
    return 6;
  }
  const std::string state =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
          response.status());
  std::cout << (json ? "{\"status\":\"" + state + "\"}" : state) << "\n";
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
             ? 0
             : 6;
}

int Run(int argc, char** argv) {
  CLI::App app{"loanctl: borrow through loan-gateway"};
  loan_gateway::client::GatewayConnection connection;
  bool json = false;
  std::string timeout_text;
  app.add_option("--target", connection.target, "gateway address host:port")
      ->capture_default_str();
  app.add_option("--ca", connection.ca_file,
                 "CA certificate the gateway's certificate chains to (PEM)")
      ->envname("LOANCTL_CA");
  app.add_option("--cert", connection.cert_file,
                 "this caller's client certificate (PEM): its identity is "
                 "what the gateway's policy allows")
      ->envname("LOANCTL_CERT");
  app.add_option("--key", connection.key_file,
                 "the client certificate's private key (PEM)")
      ->envname("LOANCTL_KEY");
  app.add_flag("--insecure", connection.insecure_plaintext,
               "plaintext, no client certificate: only for a gateway started "
               "with --insecure_plaintext");
  app.add_flag("--json", json,
               "machine-readable output: one JSON object on stdout, errors "
               "included");
  app.add_option(
      "--timeout", timeout_text,
      "how long to wait for the answer, e.g. 10s (default: 30s "
      "for borrow, 10s for get, 5s for health, 60s for health --wait)");
  app.require_subcommand(1);

  int64_t group = 0;
  std::string asset, amount, request_id;
  CLI::App* borrow = app.add_subcommand("borrow", "borrow for a risk unit");
  borrow->add_option("--group", group, "risk unit (groupId)")->required();
  borrow->add_option("--asset", asset, "USDT or USDC")->required();
  borrow->add_option("--amount", amount, "exact decimal amount, e.g. 1000.5")
      ->required();
  borrow->add_option("--request-id", request_id,
                     "idempotency key (UUID); generated if empty");
  bool validate_only = false;
  borrow->add_flag("--validate-only", validate_only,
                   "a dry run: every check a real borrow passes (policy, "
                   "caps, clock, weight), nothing journaled or sent");
  CLI::App* get =
      app.add_subcommand("get", "what the gateway knows of a borrow");
  get->add_option("--request-id", request_id, "the borrow's request_id")
      ->required();
  CLI::App* health =
      app.add_subcommand("health", "ask grpc.health.v1 whether it serves");
  bool wait = false;
  health->add_flag("--wait", wait,
                   "ask again until SERVING or --timeout (default 60s with "
                   "--wait) has passed");
  CLI::App* repay = app.add_subcommand(
      "repay", "repay up to an amount (Binance repays what it can)");
  repay->add_option("--group", group, "risk unit (groupId)")->required();
  repay->add_option("--asset", asset, "USDT or USDC")->required();
  repay->add_option("--amount", amount, "the most to repay, exact")->required();
  repay->add_option("--request-id", request_id,
                    "idempotency key (UUID); generated if empty");
  CLI::App* max = app.add_subcommand(
      "max", "how much a risk unit may still borrow (Binance's figure)");
  max->add_option("--group", group, "risk unit (groupId)")->required();
  max->add_option("--asset", asset, "USDT or USDC")->required();
  CLI::App* unit =
      app.add_subcommand("unit", "a risk unit's LTV and liabilities");
  unit->add_option("--group", group, "risk unit (groupId)")->required();
  institutional_loan::v1::ListOperationsRequest list_request;
  int64_t list_group = 0;
  int list_size = 0;
  std::string list_asset, list_state, list_caller, list_token;
  bool list_all = false;
  CLI::App* list = app.add_subcommand(
      "list",
      "the journal's operations, newest first (yours, or all for an "
      "auditor)");
  list->add_option("--group", list_group, "only this risk unit");
  list->add_option("--asset", list_asset, "only USDT or USDC");
  list->add_option("--state", list_state,
                   "only PENDING, SUCCEEDED, REJECTED or UNKNOWN");
  list->add_option("--caller", list_caller, "only this caller's (auditors)");
  list->add_option("--page-size", list_size, "operations per page (50)");
  list->add_option("--page-token", list_token, "continue a listing");
  list->add_flag("--all", list_all, "every page");
  std::string reason;
  CLI::App* halt = app.add_subcommand(
      "halt", "kill switch: stop all borrowing now (admins only)");
  halt->add_option("--reason", reason, "why, for the audit trail")->required();
  CLI::App* resume =
      app.add_subcommand("resume", "lift the halt (admins only)");
  resume->add_option("--reason", reason, "why, for the audit trail");
  CLI::App* halt_state =
      app.add_subcommand("halt-state", "whether borrowing is halted");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help: printed, exit 0.
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // A usage error, whatever CLI11's own code.
  }
  absl::Duration timeout = *health
                               ? (wait ? absl::Seconds(60) : absl::Seconds(5))
                           : *get ? absl::Seconds(10)
                                  : absl::Seconds(30);
  if (!timeout_text.empty() && (!absl::ParseDuration(timeout_text, &timeout) ||
                                timeout <= absl::ZeroDuration())) {
    std::cerr << "loanctl: --timeout must be a positive duration like 10s\n";
    return 2;
  }

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      loan_gateway::client::ConnectToGateway(connection);
  if (!channel.ok()) {
    std::cerr << "loanctl: " << channel.status().message() << "\n";
    return 2;
  }
  LoanClient client(*channel);
  if (*health) return Health(*channel, timeout, wait, json);
  if (*get) return Get(client, request_id, timeout, json);
  if (*repay) {
    return Repay(client, group, asset, amount, request_id, timeout, json);
  }
  if (*max) return Max(*channel, group, asset, timeout, json);
  if (*unit) return Unit(*channel, group, timeout, json);
  if (*list) {
    list_request.set_group_id(list_group);
    list_request.set_page_size(list_size);
    list_request.set_page_token(list_token);
    list_request.set_caller(list_caller);
    if (!list_asset.empty()) {
      list_request.set_asset(loan_gateway::api::AssetFromCode(list_asset));
    }
    institutional_loan::v1::BorrowState state;
    if (!list_state.empty() &&
        !institutional_loan::v1::BorrowState_Parse(
            "BORROW_STATE_" + absl::AsciiStrToUpper(list_state), &state)) {
      std::cerr << "loanctl: --state must be PENDING, SUCCEEDED, REJECTED or "
                   "UNKNOWN\n";
      return 2;
    }
    if (!list_state.empty()) list_request.set_state(state);
    return List(*channel, list_request, list_all, timeout, json);
  }
  if (*halt || *resume || *halt_state) {
    return Admin(*channel,
                 *halt     ? "halt"
                 : *resume ? "resume"
                           : "halt-state",
                 reason, timeout, json);
  }
  return Borrow(client, group, asset, amount,
                {.request_id = request_id,
                 .deadline = timeout,
                 .validate_only = validate_only},
                json);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "loanctl: " << e.what() << "\n";
    return 1;
  }
}
