// A bare gRPC unary echo on the callback API, plaintext or mutual TLS: the
// floor's "A" (bench/floor). Prints its port to --port_file and serves
// until killed. --answer_elsewhere answers from a thread pool of the
// gateway's kind instead of gRPC's own thread, as the gateway answers (what
// that costs gRPC is bench/floor's A′). --answer_after_ms holds each call
// that long on a gRPC alarm (no thread of its own): what Debian's gRPC alone
// needs for thousands of calls in flight (bench/floor --scale).
//   echo_server --listen 127.0.0.1:0 --port_file F [--cert C --key K --ca CA]
//               [--answer_elsewhere | --answer_after_ms N]
//               [--max_concurrent_streams N]
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "bench_server.h"
#include "echo/v1/echo.grpc.pb.h"
#include "executor/thread_pool_executor.h"

namespace {

// Answers OK when its alarm fires, then deletes itself once gRPC is done
// with the call.
class DelayedAnswer final : public grpc::ServerUnaryReactor {
 public:
  explicit DelayedAnswer(std::chrono::milliseconds delay) {
    alarm_.Set(std::chrono::system_clock::now() + delay,
               [this](bool /*fired*/) { Finish(grpc::Status::OK); });
  }

 private:
  void OnDone() override { delete this; }

  grpc::Alarm alarm_;
};

class EchoService final : public bench::echo::v1::EchoService::CallbackService {
 public:
  EchoService(loan_gateway::Executor* answerer, std::chrono::milliseconds delay)
      : answerer_(answerer), delay_(delay) {}

 private:
  grpc::ServerUnaryReactor* Echo(
      grpc::CallbackServerContext* context,
      const bench::echo::v1::EchoRequest* request,
      bench::echo::v1::EchoResponse* response) override {
    response->set_group_id(request->group_id());
    response->set_amount(request->amount());
    response->set_request_id(request->request_id());
    if (delay_.count() > 0) return new DelayedAnswer(delay_);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (answerer_ == nullptr) {
      reactor->Finish(grpc::Status::OK);
    } else {
      answerer_->Post([reactor] { reactor->Finish(grpc::Status::OK); });
    }
    return reactor;
  }

  loan_gateway::Executor* const answerer_;
  const std::chrono::milliseconds delay_;
};

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"echo_server: a bare gRPC unary echo"};
  std::string listen = "127.0.0.1:0", port_file, cert, key, ca;
  app.add_option("--listen", listen);
  app.add_option("--port_file", port_file)->required();
  app.add_option("--cert", cert, "server certificate: mutual TLS with --ca");
  app.add_option("--key", key);
  app.add_option("--ca", ca, "the CA client certificates must chain to");
  bool answer_elsewhere = false;
  auto* elsewhere =
      app.add_flag("--answer_elsewhere", answer_elsewhere,
                   "answer from a pool of 2 threads, as the gateway does");
  int answer_after_ms = 0, max_concurrent_streams = 0;
  app.add_option("--answer_after_ms", answer_after_ms,
                 "hold each call this long before answering (a gRPC alarm)")
      ->check(CLI::Range(0, 600000))
      ->excludes(elsewhere);
  app.add_option("--max_concurrent_streams", max_concurrent_streams,
                 "calls a connection may carry at once (0: gRPC's default)")
      ->check(CLI::Range(0, 100000));
  CLI11_PARSE(app, argc, argv);
  std::shared_ptr<grpc::ServerCredentials> credentials =
      cert.empty() ? grpc::InsecureServerCredentials()
                   : bench::MutualTls(ca, cert, key);
  std::unique_ptr<loan_gateway::ThreadPoolExecutor> pool;
  if (answer_elsewhere) {
    pool = std::make_unique<loan_gateway::ThreadPoolExecutor>(2, "echo-answer");
  }
  EchoService service(pool.get(), std::chrono::milliseconds(answer_after_ms));
  return bench::ServeUntilKilled("echo_server", &service, listen, credentials,
                                 port_file, max_concurrent_streams);
}

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
}
