// A bare gRPC unary echo on the callback API, plaintext or mutual TLS: the
// floor's "A" (bench/floor). Prints its port to --port_file and serves
// until killed. --answer_elsewhere answers from a thread pool of the
// gateway's kind instead of gRPC's own thread, as the gateway answers (what
// that costs gRPC is bench/floor's A′).
//   echo_server --listen 127.0.0.1:0 --port_file F [--cert C --key K --ca CA]
//               [--answer_elsewhere]
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "bench_server.h"
#include "echo/v1/echo.grpc.pb.h"
#include "executor/thread_pool_executor.h"

namespace {

class EchoService final : public bench::echo::v1::EchoService::CallbackService {
 public:
  explicit EchoService(loan_gateway::Executor* answerer)
      : answerer_(answerer) {}

 private:
  grpc::ServerUnaryReactor* Echo(
      grpc::CallbackServerContext* context,
      const bench::echo::v1::EchoRequest* request,
      bench::echo::v1::EchoResponse* response) override {
    response->set_group_id(request->group_id());
    response->set_amount(request->amount());
    response->set_request_id(request->request_id());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (answerer_ == nullptr) {
      reactor->Finish(grpc::Status::OK);
    } else {
      answerer_->Post([reactor] { reactor->Finish(grpc::Status::OK); });
    }
    return reactor;
  }

  loan_gateway::Executor* const answerer_;
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
  app.add_flag("--answer_elsewhere", answer_elsewhere,
               "answer from a pool of 2 threads, as the gateway does");
  CLI11_PARSE(app, argc, argv);
  std::shared_ptr<grpc::ServerCredentials> credentials =
      cert.empty() ? grpc::InsecureServerCredentials()
                   : bench::MutualTls(ca, cert, key);
  std::unique_ptr<loan_gateway::ThreadPoolExecutor> pool;
  if (answer_elsewhere) {
    pool = std::make_unique<loan_gateway::ThreadPoolExecutor>(2, "echo-answer");
  }
  EchoService service(pool.get());
  return bench::ServeUntilKilled("echo_server", &service, listen, credentials,
                                 port_file);
}

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "echo_server: %s\n", e.what());
    return 1;
  }
}
