#include "reflection/reflection_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <set>

namespace loan_gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;

// One stream: reads a request, writes its answer, until the client is done.
// The same for both versions, whose messages are identical.
template <typename Request, typename Response>
class ReflectionStream : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit ReflectionStream(const std::vector<std::string>& services)
      : services_(services) {
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    Answer();
    this->StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status::CANCELLED);
      return;
    }
    this->StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  void Answer() {
    response_.set_valid_host(request_.host());
    *response_.mutable_original_request() = request_;
    const DescriptorPool* pool = DescriptorPool::generated_pool();
    switch (request_.message_request_case()) {
      case Request::kListServices:
        for (const std::string& name : services_) {
          response_.mutable_list_services_response()->add_service()->set_name(
              name);
        }
        return;
      case Request::kFileByFilename:
        return SendFile(pool->FindFileByName(request_.file_by_filename()));
      case Request::kFileContainingSymbol:
        return SendFile(
            pool->FindFileContainingSymbol(request_.file_containing_symbol()));
      case Request::kFileContainingExtension: {
        const auto& ext = request_.file_containing_extension();
        const Descriptor* type =
            pool->FindMessageTypeByName(ext.containing_type());
        const FieldDescriptor* field =
            type ? pool->FindExtensionByNumber(type, ext.extension_number())
                 : nullptr;
        return SendFile(field ? field->file() : nullptr);
      }
      case Request::kAllExtensionNumbersOfType: {
        const Descriptor* type = pool->FindMessageTypeByName(
            request_.all_extension_numbers_of_type());
        if (type == nullptr) return NotFound("Type not found.");
        std::vector<const FieldDescriptor*> extensions;
        pool->FindAllExtensions(type, &extensions);
        auto* numbers = response_.mutable_all_extension_numbers_response();
        numbers->set_base_type_name(type->full_name());
        for (const FieldDescriptor* e : extensions) {
          numbers->add_extension_number(e->number());
        }
        return;
      }
      default:
        auto* error = response_.mutable_error_response();
        error->set_error_code(grpc::StatusCode::UNIMPLEMENTED);
        error->set_error_message("The server does not support this request.");
    }
  }

  void NotFound(const std::string& message) {
    auto* error = response_.mutable_error_response();
    error->set_error_code(grpc::StatusCode::NOT_FOUND);
    error->set_error_message(message);
  }

  // The file first, then its dependencies this stream has not had yet.
  void SendFile(const FileDescriptor* file) {
    if (file == nullptr) return NotFound("Symbol or file not found.");
    auto* files = response_.mutable_file_descriptor_response();
    Append(file, files);
    sent_.insert(file->name());
    AppendDependencies(file, files);
  }

  template <typename Files>
  void Append(const FileDescriptor* file, Files* files) {
    google::protobuf::FileDescriptorProto proto;
    file->CopyTo(&proto);
    proto.SerializeToString(files->add_file_descriptor_proto());
  }

  template <typename Files>
  void AppendDependencies(const FileDescriptor* file, Files* files) {
    for (int i = 0; i < file->dependency_count(); ++i) {
      const FileDescriptor* dependency = file->dependency(i);
      if (!sent_.insert(dependency->name()).second) continue;
      Append(dependency, files);
      AppendDependencies(dependency, files);
    }
  }

  const std::vector<std::string>& services_;
  std::set<std::string> sent_;  // Files this stream has had.
  Request request_;
  Response response_;
};

}  // namespace

grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                        grpc::reflection::v1::ServerReflectionResponse>*
ReflectionV1Service::ServerReflectionInfo(grpc::CallbackServerContext*) {
  return new ReflectionStream<grpc::reflection::v1::ServerReflectionRequest,
                              grpc::reflection::v1::ServerReflectionResponse>(
      services_);
}

grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                        grpc::reflection::v1alpha::ServerReflectionResponse>*
ReflectionV1AlphaService::ServerReflectionInfo(grpc::CallbackServerContext*) {
  return new ReflectionStream<
      grpc::reflection::v1alpha::ServerReflectionRequest,
      grpc::reflection::v1alpha::ServerReflectionResponse>(services_);
}

}  // namespace loan_gateway
