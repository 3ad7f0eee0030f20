#include "reflection/reflection_service.h"

#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/grpcpp.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "institutional_loan/v1/institutional_loan.grpc.pb.h"

namespace loan_gateway {
namespace {

const std::vector<std::string> kServices = {
    "institutional_loan.v1.InstitutionalLoan",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection"};

// Whether `file` defines `symbol` (a message or a service, by full name).
bool Defines(const google::protobuf::FileDescriptorProto& file,
             const std::string& symbol) {
  const std::string prefix = file.package().empty() ? "" : file.package() + ".";
  for (const auto& m : file.message_type()) {
    if (prefix + m.name() == symbol) return true;
  }
  for (const auto& s : file.service()) {
    if (prefix + s.name() == symbol) return true;
  }
  return false;
}

template <typename Stub, typename Request, typename Response>
void AskForEverySymbolOnOneStream(Stub& stub) {
  grpc::ClientContext context;
  auto stream = stub.ServerReflectionInfo(&context);
  Request list;
  list.set_list_services("");
  Response response;
  ASSERT_TRUE(stream->Write(list) && stream->Read(&response));
  std::set<std::string> listed;
  for (const auto& s : response.list_services_response().service()) {
    listed.insert(s.name());
  }
  EXPECT_TRUE(listed.count("institutional_loan.v1.InstitutionalLoan"));

  std::set<std::string> files_seen;
  for (const char* symbol :
       {"institutional_loan.v1.InstitutionalLoan", "google.rpc.ErrorInfo",
        "google.rpc.BadRequest", "google.rpc.PreconditionFailure",
        "google.rpc.QuotaFailure", "google.rpc.RetryInfo",
        "institutional_loan.v1.InstitutionalLoan"}) {
    Request ask;
    ask.set_file_containing_symbol(symbol);
    ASSERT_TRUE(stream->Write(ask) && stream->Read(&response)) << symbol;
    const auto& files = response.file_descriptor_response();
    ASSERT_GT(files.file_descriptor_proto_size(), 0) << symbol;
    google::protobuf::FileDescriptorProto first;
    ASSERT_TRUE(first.ParseFromString(files.file_descriptor_proto(0)));
    EXPECT_TRUE(Defines(first, symbol))
        << symbol << ": first file is " << first.name();
    for (int i = 1; i < files.file_descriptor_proto_size(); ++i) {
      google::protobuf::FileDescriptorProto dependency;
      ASSERT_TRUE(dependency.ParseFromString(files.file_descriptor_proto(i)));
      EXPECT_TRUE(files_seen.insert(dependency.name()).second)
          << dependency.name() << " sent twice on one stream";
    }
    files_seen.insert(first.name());
  }
  Request unknown;
  unknown.set_file_containing_symbol("no.such.Symbol");
  ASSERT_TRUE(stream->Write(unknown) && stream->Read(&response));
  EXPECT_EQ(response.error_response().error_code(),
            grpc::StatusCode::NOT_FOUND);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

class ReflectionServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    google::rpc::ErrorInfo::descriptor();  // Linked into the pool.
    institutional_loan::v1::BorrowRequest::descriptor();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&v1_);
    builder.RegisterService(&v1alpha_);
    server_ = builder.BuildAndStart();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override { server_->Shutdown(); }

  ReflectionV1Service v1_{kServices};
  ReflectionV1AlphaService v1alpha_{kServices};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ReflectionServiceTest, V1AnswersEachSymbolWithItsOwnFileFirst) {
  auto stub = grpc::reflection::v1::ServerReflection::NewStub(channel_);
  AskForEverySymbolOnOneStream<grpc::reflection::v1::ServerReflection::Stub,
                               grpc::reflection::v1::ServerReflectionRequest,
                               grpc::reflection::v1::ServerReflectionResponse>(
      *stub);
}

TEST_F(ReflectionServiceTest, V1AlphaAnswersEachSymbolWithItsOwnFileFirst) {
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel_);
  AskForEverySymbolOnOneStream<
      grpc::reflection::v1alpha::ServerReflection::Stub,
      grpc::reflection::v1alpha::ServerReflectionRequest,
      grpc::reflection::v1alpha::ServerReflectionResponse>(*stub);
}

}  // namespace
}  // namespace loan_gateway
