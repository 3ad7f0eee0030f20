// Load generator: N unary calls at a fixed concurrency on the callback API;
// prints throughput and latency percentiles. The same generator drives the
// gateway's Borrow, a Borrow it refuses locally (an invalid amount), and
// bench/echo_server's bare Echo, so bench/floor compares like with like.
//   borrow_load --target 127.0.0.1:50051 --calls 5000 --concurrency 64
//               [--method borrow|invalid|echo] [--request_ids gateway|v4]
//               [--json]
#include <grpcpp/grpcpp.h>
#include <openssl/rand.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "api/request_id.h"
#include "echo/v1/echo.grpc.pb.h"
#include "gateway_channel.h"
#include "institutional_loan/v1/institutional_loan.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using institutional_loan::v1::BorrowRequest;
using institutional_loan::v1::BorrowResponse;
using Finished = std::function<void(const grpc::Status&)>;

// Starts call number `index`; `finished` runs once when it ends.
using StartCall = std::function<void(int index, Finished finished)>;

struct BorrowCall {
  grpc::ClientContext context;
  BorrowRequest request;
  BorrowResponse response;
};

struct EchoCall {
  grpc::ClientContext context;
  bench::echo::v1::EchoRequest request;
  bench::echo::v1::EchoResponse response;
};

std::chrono::system_clock::time_point Deadline(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

using Channels = std::vector<std::shared_ptr<grpc::Channel>>;

// One stub per channel; call i goes through stub i % n.
template <typename Service>
std::vector<std::shared_ptr<typename Service::Stub>> StubsOf(
    const Channels& channels) {
  std::vector<std::shared_ptr<typename Service::Stub>> stubs;
  for (const auto& channel : channels)
    stubs.push_back(Service::NewStub(channel));
  return stubs;
}

// A random (version 4) UUID, as a caller with a UUID library of its own
// would send: the gateway's generated ids and its client's are version 7, in
// time order, which the journal's indexes take at their end.
std::string RandomV4RequestId() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), b.size()) != 1) std::abort();  // No entropy.
  b[6] = (b[6] & 0x0F) | 0x40;                            // Version 4.
  b[8] = (b[8] & 0x3F) | 0x80;                            // RFC 9562 variant.
  return loan_gateway::api::UuidText(b);
}

StartCall Borrows(const Channels& channels, int64_t groups,
                  const std::string& amount, int deadline_s,
                  bool v4_request_ids) {
  auto stubs = StubsOf<institutional_loan::v1::InstitutionalLoan>(channels);
  return [stubs, groups, amount, deadline_s, v4_request_ids](
             int index, const Finished& finished) {
    auto& stub = stubs[static_cast<size_t>(index) % stubs.size()];
    auto* call = new BorrowCall;
    call->request.set_group_id(1001 + index % groups);
    call->request.set_asset(institutional_loan::v1::ASSET_USDT);
    call->request.set_amount(amount);
    if (v4_request_ids) call->request.set_request_id(RandomV4RequestId());
    call->context.set_deadline(Deadline(deadline_s));
    stub->async()->Borrow(&call->context, &call->request, &call->response,
                          [call, finished](const grpc::Status& status) {
                            delete call;
                            finished(status);
                          });
  };
}

StartCall Echoes(const Channels& channels, int deadline_s) {
  auto stubs = StubsOf<bench::echo::v1::EchoService>(channels);
  return [stubs, deadline_s](int index, const Finished& finished) {
    auto& stub = stubs[static_cast<size_t>(index) % stubs.size()];
    auto* call = new EchoCall;
    call->request.set_group_id(1001 + index);
    call->request.set_amount("1.5");
    call->request.set_request_id("075f993d-d0a2-44a4-a815-b5656db42be3");
    call->context.set_deadline(Deadline(deadline_s));
    stub->async()->Echo(&call->context, &call->request, &call->response,
                        [call, finished](const grpc::Status& status) {
                          delete call;
                          finished(status);
                        });
  };
}

class Load {
 public:
  Load(StartCall start, int calls, int concurrency)
      : start_(std::move(start)), calls_(calls), concurrency_(concurrency) {}

  void Run() {
    const double cpu_before = CpuSeconds();
    started_ = Clock::now();
    for (int i = 0; i < concurrency_; ++i) StartOne();
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return finished_ == calls_; });
    elapsed_ = Clock::now() - started_;
    cpu_seconds_ = CpuSeconds() - cpu_before;
  }

  // This process's own CPU (all threads): what the load generator takes
  // from the cores it shares with what it measures.
  static double CpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
  }

  void Report(bool json) const {
    std::vector<double> ms = latencies_ms_;
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) {
      return ms[static_cast<size_t>(p * (ms.size() - 1))];
    };
    const double seconds = std::chrono::duration<double>(elapsed_).count();
    if (json) {
      std::printf(
          "{\"calls\":%d,\"concurrency\":%d,\"seconds\":%.3f,"
          "\"throughput\":%.1f,\"p50_ms\":%.4f,\"p90_ms\":%.4f,"
          "\"p99_ms\":%.4f,\"max_ms\":%.4f,\"client_cpu_us_per_call\":%.1f,"
          "\"codes\":{",
          calls_, concurrency_, seconds, calls_ / seconds, pct(0.5), pct(0.9),
          pct(0.99), ms.back(), cpu_seconds_ * 1e6 / calls_);
      const char* separator = "";
      for (const auto& [code, n] : codes_) {
        std::printf("%s\"%d\":%d", separator, code, n);
        separator = ",";
      }
      std::printf("}}\n");
      return;
    }
    std::printf("calls=%d concurrency=%d seconds=%.2f throughput=%.0f/s\n",
                calls_, concurrency_, seconds, calls_ / seconds);
    std::printf("latency_ms p50=%.2f p90=%.2f p99=%.2f max=%.2f\n", pct(0.5),
                pct(0.9), pct(0.99), ms.back());
    for (const auto& [code, n] : codes_)
      std::printf("grpc_code %d: %d\n", code, n);
  }

 private:
  // Starts the next call, unless every call was started: answers that
  // arrive while Run still starts the first ones start calls too.
  void StartOne() {
    const int index = issued_++;
    if (index >= calls_) return;
    const Clock::time_point started = Clock::now();
    start_(index, [this, started](const grpc::Status& status) {
      Done(started, status);
    });
  }

  void Done(Clock::time_point started, const grpc::Status& status) {
    const double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - started)
            .count();
    {
      std::lock_guard<std::mutex> lock(mu_);
      latencies_ms_.push_back(ms);
      ++codes_[status.error_code()];
      ++finished_;
      if (finished_ == calls_) done_cv_.notify_all();
    }
    StartOne();
  }

  const StartCall start_;
  const int calls_, concurrency_;
  std::atomic<int> issued_{0};
  std::mutex mu_;
  std::condition_variable done_cv_;
  int finished_ = 0;
  std::vector<double> latencies_ms_;
  std::map<int, int> codes_;
  Clock::time_point started_;
  Clock::duration elapsed_{};
  double cpu_seconds_ = 0;
};

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"borrow_load: unary calls at a fixed concurrency"};
  loan_gateway::client::GatewayConnection connection;
  int calls = 2000, concurrency = 32, deadline_s = 30, connections = 1;
  int64_t groups = 1;
  std::string method = "borrow", amount = "1.5";
  bool json = false;
  app.add_option("--target", connection.target);
  app.add_option("--ca", connection.ca_file, "the server's CA (PEM)");
  app.add_option("--cert", connection.cert_file, "the caller's certificate");
  app.add_option("--key", connection.key_file, "its private key");
  app.add_flag("--insecure", connection.insecure_plaintext,
               "plaintext (a gateway with --insecure_plaintext)");
  app.add_option("--calls", calls);
  app.add_option("--concurrency", concurrency);
  app.add_option("--groups", groups,
                 "spread borrows over this many risk units from 1001");
  app.add_option("--method", method,
                 "borrow; invalid (a Borrow refused locally: amount -1); echo "
                 "(bench/echo_server)")
      ->check(CLI::IsMember({"borrow", "invalid", "echo"}));
  app.add_option("--amount", amount, "each borrow's amount");
  std::string request_ids = "gateway";
  app.add_option("--request_ids", request_ids,
                 "gateway: none sent, the gateway makes each (version 7); "
                 "v4: a random version 4 UUID each, as a caller's own")
      ->check(CLI::IsMember({"gateway", "v4"}));
  app.add_option("--deadline_s", deadline_s, "each call's deadline");
  app.add_option("--connections", connections,
                 "spread calls over this many connections (a server caps "
                 "the streams of one)");
  app.add_flag("--json", json, "one line of JSON instead of text");
  CLI11_PARSE(app, argc, argv);
  connection.own_connection = connections > 1;
  Channels channels;
  for (int i = 0; i < connections; ++i) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
        loan_gateway::client::ConnectToGateway(connection);
    if (!channel.ok()) {
      std::fprintf(stderr, "borrow_load: %s\n",
                   std::string(channel.status().message()).c_str());
      return 2;
    }
    channels.push_back(*std::move(channel));
  }
  StartCall start =
      method == "echo"
          ? Echoes(channels, deadline_s)
          : Borrows(channels, groups, method == "invalid" ? "-1" : amount,
                    deadline_s, request_ids == "v4");
  Load load(std::move(start), calls, concurrency);
  load.Run();
  load.Report(json);
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
