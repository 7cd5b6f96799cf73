//===- BodyEmitter.cpp - Fused element-wise bodies as device functions ----===//

#include "codegen/BodyEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Block.h"
#include "mlir/IR/Operation.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>

using namespace mlir;

namespace greta::codegen {
namespace {

/// Binary arith ops written as C operators.
std::optional<StringRef> binaryOperator(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::optional<StringRef>>(op)
      .Case<arith::AddFOp>([](auto) { return StringRef("+"); })
      .Case<arith::SubFOp>([](auto) { return StringRef("-"); })
      .Case<arith::MulFOp>([](auto) { return StringRef("*"); })
      .Case<arith::DivFOp>([](auto) { return StringRef("/"); })
      .Default([](Operation *) { return std::nullopt; });
}

/// Ops written as a call of a CUDA/HIP device math function, with the function's name.
std::optional<StringRef> mathFunction(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::optional<StringRef>>(op)
      .Case<math::ExpOp>([](auto) { return StringRef("expf"); })
      .Case<math::Exp2Op>([](auto) { return StringRef("exp2f"); })
      .Case<math::LogOp>([](auto) { return StringRef("logf"); })
      .Case<math::Log2Op>([](auto) { return StringRef("log2f"); })
      .Case<math::SqrtOp>([](auto) { return StringRef("sqrtf"); })
      .Case<math::RsqrtOp>([](auto) { return StringRef("rsqrtf"); })
      .Case<math::TanhOp>([](auto) { return StringRef("tanhf"); })
      .Case<math::AbsFOp>([](auto) { return StringRef("fabsf"); })
      .Case<math::SinOp>([](auto) { return StringRef("sinf"); })
      .Case<math::CosOp>([](auto) { return StringRef("cosf"); })
      .Case<math::ErfOp>([](auto) { return StringRef("erff"); })
      .Case<math::FloorOp>([](auto) { return StringRef("floorf"); })
      .Case<math::CeilOp>([](auto) { return StringRef("ceilf"); })
      .Case<math::FmaOp>([](auto) { return StringRef("fmaf"); })
      .Case<math::PowFOp>([](auto) { return StringRef("powf"); })
      .Case<arith::RemFOp>([](auto) { return StringRef("fmodf"); })
      .Case<arith::MaximumFOp, arith::MaxNumFOp>([](auto) { return StringRef("fmaxf"); })
      .Case<arith::MinimumFOp, arith::MinNumFOp>([](auto) { return StringRef("fminf"); })
      .Default([](Operation *) { return std::nullopt; });
}

/// A comparison predicate as a C expression over `a` and `b`. Unordered predicates are the
/// negation of the opposite ordered one, so NaN operands behave as in MLIR.
std::optional<std::string> comparison(arith::CmpFPredicate predicate, StringRef a, StringRef b) {
  using P = arith::CmpFPredicate;
  auto fmt = [&](const char *pattern) { return llvm::formatv(pattern, a, b).str(); };
  switch (predicate) {
  case P::OEQ:
    return fmt("({0} == {1})");
  case P::OGT:
    return fmt("({0} > {1})");
  case P::OGE:
    return fmt("({0} >= {1})");
  case P::OLT:
    return fmt("({0} < {1})");
  case P::OLE:
    return fmt("({0} <= {1})");
  case P::ONE:
    return fmt("({0} < {1} || {0} > {1})");
  case P::UNE:
    return fmt("({0} != {1})");
  case P::UGT:
    return fmt("!({0} <= {1})");
  case P::UGE:
    return fmt("!({0} < {1})");
  case P::ULT:
    return fmt("!({0} >= {1})");
  case P::ULE:
    return fmt("!({0} > {1})");
  case P::UEQ:
    return fmt("!({0} < {1} || {0} > {1})");
  case P::ORD:
    return fmt("({0} == {0} && {1} == {1})");
  case P::UNO:
    return fmt("({0} != {0} || {1} != {1})");
  case P::AlwaysTrue:
    return std::string("true");
  case P::AlwaysFalse:
    return std::string("false");
  }
  return std::nullopt;
}

class BodyWriter {
public:
  explicit BodyWriter(ArrayRef<StringRef> argNames) : argNames_(argNames) {}

  FailureOr<std::string> write(Region &body, StringRef name) {
    Block &block = body.front();
    std::string params;
    for (auto [arg, argName] : llvm::zip_equal(block.getArguments(), argNames_)) {
      names_[arg] = argName.str();
      params += (params.empty() ? "float " : ", float ") + argName.str();
    }
    std::string text =
        llvm::formatv("__device__ __forceinline__ float {0}({1}) {{\n", name, params).str();
    for (Operation &op : block.without_terminator()) {
      FailureOr<std::string> line = writeOp(op);
      if (failed(line))
        return failure();
      text += *line;
    }
    Operation *terminator = block.getTerminator();
    if (terminator->getNumOperands() != 1)
      return terminator->emitOpError("must yield exactly one value to be emitted"), failure();
    text += "  return " + names_[terminator->getOperand(0)] + ";\n}\n";
    return text;
  }

private:
  /// One `const T tN = expr;` line for `op`.
  FailureOr<std::string> writeOp(Operation &op) {
    if (op.getNumResults() != 1)
      return op.emitOpError("has ")
                 << op.getNumResults() << " results; a fused body op must have one",
             failure();
    Value result = op.getResult(0);
    Type type = result.getType();
    if (!type.isF32() && !type.isInteger(1))
      return op.emitOpError("produces ") << type << "; fused bodies compute in f32 (and i1)",
             failure();
    FailureOr<std::string> expr = expression(op);
    if (failed(expr))
      return failure();
    std::string local = "t" + std::to_string(next_++);
    names_[result] = local;
    return llvm::formatv("  const {0} {1} = {2};\n", type.isF32() ? "float" : "bool", local, *expr)
        .str();
  }

  std::string operand(Operation &op, unsigned index) { return names_[op.getOperand(index)]; }

  FailureOr<std::string> expression(Operation &op) {
    if (std::optional<StringRef> symbol = binaryOperator(&op))
      return operand(op, 0) + " " + symbol->str() + " " + operand(op, 1);
    if (std::optional<StringRef> function = mathFunction(&op)) {
      std::string args;
      for (unsigned i = 0; i < op.getNumOperands(); ++i)
        args += (i ? ", " : "") + operand(op, i);
      return function->str() + "(" + args + ")";
    }
    if (isa<arith::NegFOp>(op))
      return "-" + operand(op, 0);
    if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
      if (auto value = dyn_cast<FloatAttr>(constant.getValue()))
        return formatFloatLiteral(static_cast<float>(value.getValueAsDouble()));
      if (auto value = dyn_cast<IntegerAttr>(constant.getValue());
          value && value.getType().isInteger(1))
        return std::string(value.getValue().isZero() ? "false" : "true");
    }
    if (auto compare = dyn_cast<arith::CmpFOp>(op))
      if (std::optional<std::string> text =
              comparison(compare.getPredicate(), operand(op, 0), operand(op, 1)))
        return *text;
    if (isa<arith::SelectOp>(op))
      return operand(op, 0) + " ? " + operand(op, 1) + " : " + operand(op, 2);
    return op.emitOpError("has no HIP C++ spelling in the kernel emitter (fused bodies may use "
                          "arith add/sub/mul/div/rem/neg/min/max/cmpf/select/constant and math "
                          "exp/exp2/log/log2/sqrt/rsqrt/tanh/absf/sin/cos/erf/floor/ceil/fma/"
                          "powf)"),
           failure();
  }

  ArrayRef<StringRef> argNames_;
  llvm::DenseMap<Value, std::string> names_;
  int next_ = 0;
};

} // namespace

FailureOr<std::string> emitBodyFunction(Region &body, StringRef name,
                                        ArrayRef<StringRef> argNames) {
  if (body.empty() || body.front().getNumArguments() != argNames.size())
    return failure();
  return BodyWriter(argNames).write(body, name);
}

std::string formatFloatLiteral(float value) {
  if (!std::isfinite(value))
    return llvm::formatv("__int_as_float(0x{0:x-8})", std::bit_cast<uint32_t>(value)).str();
  // Nine significant digits always read back to the same float.
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(value));
  std::string literal = text;
  // Prefer the shortest spelling that reads back exactly ("1.0f" rather than "1.00000000f").
  for (int digits = 1; digits < 9; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, static_cast<double>(value));
    if (std::strtof(text, nullptr) == value) {
      literal = text;
      break;
    }
  }
  if (literal.find_first_of(".en") == std::string::npos)
    literal += ".0";
  return literal + "f";
}

} // namespace greta::codegen
