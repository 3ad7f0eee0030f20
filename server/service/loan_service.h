#ifndef LOAN_GATEWAY_SERVER_SERVICE_LOAN_SERVICE_H_
#define LOAN_GATEWAY_SERVER_SERVICE_LOAN_SERVICE_H_

#include "audit/audit_log.h"
#include "executor/executor.h"
#include "institutional_loan/v1/institutional_loan.grpc.pb.h"
#include "journal/borrow_journal.h"
#include "policy/policy_store.h"
#include "service/operation_pipeline.h"
#include "service/risk_unit_reader.h"

namespace loan_gateway {

// Every method takes raw bytes: DecodeRequest reports a string field that is
// not UTF-8 as the bad input it is (gRPC's own parse would fail the call
// without details).
using RawLoanService =
    institutional_loan::v1::InstitutionalLoan::WithRawCallbackMethod_Repay<
        institutional_loan::v1::InstitutionalLoan::WithRawCallbackMethod_Borrow<
            institutional_loan::v1::InstitutionalLoan::
                WithRawCallbackMethod_GetBorrow<
                    institutional_loan::v1::InstitutionalLoan::
                        WithRawCallbackMethod_ListOperations<
                            institutional_loan::v1::InstitutionalLoan::
                                WithRawCallbackMethod_GetMaxBorrowable<
                                    institutional_loan::v1::InstitutionalLoan::
                                        WithRawCallbackMethod_GetRiskUnit<
                                            institutional_loan::v1::
                                                InstitutionalLoan::
                                                    Service>>>>>>;

// The gRPC callback service. It runs the pipeline and turns its result into
// a grpc::Status at this edge; no gRPC thread ever waits for Binance: the
// reactor is finished from the HTTP loop's (or journal's) completion callback.
class LoanService final : public RawLoanService {
 public:
  // `certificates_required`: false only with --insecure_plaintext (see
  // CallerOf).
  // `policy` decides who may call what (PolicyStore::Current() null: the
  // insecure sandbox, everyone).
  // `audit` (optional in tests) records every GetBorrow and ListOperations
  // answer.
  // `reader` (optional in tests: then GetMaxBorrowable is UNIMPLEMENTED)
  // reads risk units at Binance.
  // `answers` (the call executor; optional in tests: then inline) finishes
  // an audited answer, never the thread that made its record durable: with
  // the trail in the journal that is the journal's, which only journals.
  LoanService(OperationPipeline& pipeline, BorrowJournal& journal,
              bool certificates_required, const PolicyStore& policy,
              AuditLog* audit = nullptr, RiskUnitReader* reader = nullptr,
              Executor* answers = nullptr)
      : pipeline_(pipeline),
        journal_(journal),
        certificates_required_(certificates_required),
        policy_(policy),
        audit_(audit),
        reader_(reader),
        answers_(answers) {}

  grpc::ServerUnaryReactor* Borrow(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* Repay(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* GetBorrow(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* ListOperations(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* GetMaxBorrowable(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* GetRiskUnit(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;

 private:
  absl::Status LookUp(const institutional_loan::v1::GetBorrowRequest& request,
                      const std::string& caller, const CallerRule* rule,
                      grpc::ByteBuffer* response);
  // One page of the journal's records the caller may see; `shown` counts
  // them (for the audit record).
  absl::Status List(
      const institutional_loan::v1::ListOperationsRequest& request,
      const std::string& caller, const CallerRule* rule,
      grpc::ByteBuffer* response, int* shown);
  // Who calls, whether the policy lets it call Borrow or Repay, the request
  // decoded: then the pipeline; else the refusal through `finish`.
  void StartOperation(grpc::CallbackServerContext& context,
                      const grpc::ByteBuffer& request_bytes, OperationKind kind,
                      OperationPipeline::Done finish,
                      std::string* requested_amount = nullptr);
  // The caller and its rule for `method`, or why not.
  struct Admitted {
    std::string caller;  // Its identity, or "unauthenticated:<peer>".
    absl::StatusOr<std::shared_ptr<const CallerRule>> rule;
  };
  Admitted AdmitCall(grpc::CallbackServerContext& context,
                     const std::string& method) const;
  // Finishes a read once its audit record is durable (fail closed: no
  // record, no answer).
  void FinishAudited(grpc::ServerUnaryReactor* reactor,
                     audit::v1::AuditRecord record, const absl::Status& answer);
  OperationPipeline& pipeline_;
  BorrowJournal& journal_;

  const bool certificates_required_;
  const PolicyStore& policy_;
  AuditLog* const audit_;
  RiskUnitReader* const reader_;
  Executor* const answers_;
};

// The journal's record as the API shows it.
institutional_loan::v1::GetBorrowResponse ToGetBorrowResponse(
    const JournalRecord& record);

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_SERVICE_LOAN_SERVICE_H_
