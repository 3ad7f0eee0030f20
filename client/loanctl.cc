// loanctl: a command-line client for loan-gateway.
//   loanctl --target 127.0.0.1:50051 borrow --group 1001 --asset USDT --amount
//   1000.5 loanctl --target 127.0.0.1:50051 health
// Exit codes: 0 ok, 3 invalid argument, 4 failed precondition (e.g. borrow
// limit), 5 outcome unknown, 6 unavailable, 7 rate limited, 8 aborted,
// 9 not found, 10 internal, 1 other.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/strings/ascii.h"
#include "error_report.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "institutional_loan/v1/institutional_loan.grpc.pb.h"

namespace {

using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;
using loan_gateway::client::DecodeError;

institutional_loan::v1::Asset ParseAsset(std::string name) {
  name = absl::AsciiStrToUpper(name);
  if (name == "USDT") return institutional_loan::v1::ASSET_USDT;
  if (name == "USDC") return institutional_loan::v1::ASSET_USDC;
  return institutional_loan::v1::ASSET_UNSPECIFIED;  // The gateway names the
                                                     // field.
}

int ReportError(const grpc::Status& status, bool json) {
  auto report = DecodeError(status);
  if (json) {
    std::cout << loan_gateway::client::FormatJson(report) << "\n";
  } else {
    std::cerr << loan_gateway::client::FormatHuman(report);
  }
  return loan_gateway::client::ExitCodeFor(report);
}

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"loanctl: borrow through loan-gateway"};
  std::string target = "127.0.0.1:50051";
  bool json = false;
  double timeout_s = 30;
  app.add_option("--target", target, "gateway address host:port");
  app.add_flag("--json", json, "machine-readable output");
  app.add_option("--timeout", timeout_s, "call deadline in seconds");
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
  CLI::App* health =
      app.add_subcommand("health", "ask grpc.health.v1 whether it serves");
  CLI11_PARSE(app, argc, argv);

  auto channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
  if (*health) {
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
        &context, request, &response);
    if (!status.ok()) return ReportError(status, json);
    const std::string state =
        grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
            response.status());
    std::cout << (json ? "{\"status\":\"" + state + "\"}" : state) << "\n";
    return response.status() == grpc::health::v1::HealthCheckResponse::SERVING
               ? 0
               : 6;
  }
  BorrowRequest request;
  request.set_group_id(group);
  request.set_asset(ParseAsset(asset));
  request.set_amount(amount);
  request.set_request_id(request_id);
  BorrowResponse response;
  grpc::Status status =
      institutional_loan::v1::InstitutionalLoan::NewStub(channel)->Borrow(
          &context, request, &response);
  if (!status.ok()) return ReportError(status, json);
  if (json) {
    std::cout << "{\"transaction_id\":\"" << response.transaction_id()
              << "\",\"amount\":\"" << response.amount()
              << "\",\"request_id\":\"" << response.request_id()
              << "\",\"group_id\":" << response.group_id() << "}\n";
  } else {
    std::cout << "borrowed " << response.amount() << " "
              << institutional_loan::v1::Asset_Name(response.asset()).substr(6)
              << " for risk unit " << response.group_id() << "\n"
              << "  transaction_id: " << response.transaction_id() << "\n"
              << "  request_id:     " << response.request_id() << "\n";
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "loanctl: " << e.what() << "\n";
    return 1;
  }
}
