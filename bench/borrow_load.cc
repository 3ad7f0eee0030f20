// Load generator: N Borrow calls at a fixed concurrency through a running
// gateway; prints throughput and latency percentiles. bench/run_borrow_load
// starts the Binance fake and the gateway on loopback and runs it.
//   borrow_load --target 127.0.0.1:50051 --calls 5000 --concurrency 64
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <vector>

#include "gateway_channel.h"
#include "institutional_loan/v1/institutional_loan.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;

struct Call {
  grpc::ClientContext context;
  BorrowRequest request;
  BorrowResponse response;
  Clock::time_point started;
};

class Load {
 public:
  Load(const std::shared_ptr<grpc::Channel>& channel, int calls,
       int concurrency, int64_t groups)
      : stub_(institutional_loan::v1::InstitutionalLoan::NewStub(channel)),
        calls_(calls),
        concurrency_(concurrency),
        groups_(groups) {}

  void Run() {
    started_ = Clock::now();
    for (int i = 0; i < concurrency_ && i < calls_; ++i) StartOne();
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return finished_ == calls_; });
    elapsed_ = Clock::now() - started_;
  }

  void Report() const {
    std::vector<double> ms = latencies_ms_;
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) {
      return ms[static_cast<size_t>(p * (ms.size() - 1))];
    };
    const double seconds = std::chrono::duration<double>(elapsed_).count();
    std::printf("calls=%d concurrency=%d seconds=%.2f throughput=%.0f/s\n",
                calls_, concurrency_, seconds, calls_ / seconds);
    std::printf("latency_ms p50=%.2f p90=%.2f p99=%.2f max=%.2f\n", pct(0.5),
                pct(0.9), pct(0.99), ms.back());
    for (const auto& [code, n] : codes_)
      std::printf("grpc_code %d: %d\n", code, n);
  }

 private:
  void StartOne() {
    const int index = issued_++;
    auto* call = new Call;
    call->request.set_group_id(1001 + index % groups_);
    call->request.set_asset(institutional_loan::v1::ASSET_USDT);
    call->request.set_amount("1.5");
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(30));
    call->started = Clock::now();
    stub_->async()->Borrow(
        &call->context, &call->request, &call->response,
        [this, call](const grpc::Status& status) { Done(call, status); });
  }

  void Done(Call* call, const grpc::Status& status) {
    const double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - call->started)
            .count();
    delete call;
    bool start_next = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      latencies_ms_.push_back(ms);
      ++codes_[status.error_code()];
      ++finished_;
      start_next = issued_ < calls_;
      if (finished_ == calls_) done_cv_.notify_all();
    }
    if (start_next) StartOne();
  }

  std::unique_ptr<institutional_loan::v1::InstitutionalLoan::Stub> stub_;
  const int calls_, concurrency_;
  const int64_t groups_;
  std::atomic<int> issued_{0};
  std::mutex mu_;
  std::condition_variable done_cv_;
  int finished_ = 0;
  std::vector<double> latencies_ms_;
  std::map<int, int> codes_;
  Clock::time_point started_;
  Clock::duration elapsed_{};
};

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"borrow_load: Borrow calls at a fixed concurrency"};
  loan_gateway::client::GatewayConnection connection;
  int calls = 2000, concurrency = 32;
  int64_t groups = 1;
  app.add_option("--target", connection.target);
  app.add_option("--ca", connection.ca_file, "the gateway's CA (PEM)");
  app.add_option("--cert", connection.cert_file, "the caller's certificate");
  app.add_option("--key", connection.key_file, "its private key");
  app.add_flag("--insecure", connection.insecure_plaintext,
               "plaintext (a gateway with --insecure_plaintext)");
  app.add_option("--calls", calls);
  app.add_option("--concurrency", concurrency);
  app.add_option("--groups", groups,
                 "spread calls over this many risk units from 1001");
  CLI11_PARSE(app, argc, argv);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      loan_gateway::client::ConnectToGateway(connection);
  if (!channel.ok()) {
    std::fprintf(stderr, "borrow_load: %s\n",
                 std::string(channel.status().message()).c_str());
    return 2;
  }
  Load load(*channel, calls, concurrency, groups);
  load.Run();
  load.Report();
  return 0;
}

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "borrow_load: %s\n", e.what());
    return 1;
  }
}
