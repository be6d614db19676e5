#include "k8s/kube_result.hpp"

namespace kepler {

std::string_view to_string(kube_error_kind kind) {
  switch (kind) {
    case kube_error_kind::config: return "config";
    case kube_error_kind::token_file: return "token_file";
    case kube_error_kind::connect: return "connect";
    case kube_error_kind::tls: return "tls";
    case kube_error_kind::timeout: return "timeout";
    case kube_error_kind::io: return "io";
    case kube_error_kind::http_status: return "http_status";
    case kube_error_kind::auth: return "auth";
    case kube_error_kind::body_too_large: return "body_too_large";
    case kube_error_kind::parse: return "parse";
    case kube_error_kind::stopped: return "stopped";
  }
  return "unknown";
}

}  // namespace kepler
