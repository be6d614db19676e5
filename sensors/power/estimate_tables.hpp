#pragma once
// The estimate meter's data (docs/estimate.md): SPECpower load curves of real servers and Cloud
// Carbon Footprint's per-vCPU coefficients and instance mappings. The CSV files of
// sensors/power/models/ (README.md there: sources and licences) are compiled into the binary;
// this parses them once.

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace kepler {

/// Loads of a SPECpower result: active idle, then 10 % … 100 %.
inline constexpr std::array<double, 11> specpower_loads{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};

/// One SPECpower_ssj2008 result: whole-server wall power at each load step.
struct specpower_server {
  int source_row = 0;  ///< the source's row index (the `source_row` column), to cite a server
  std::string vendor, model, cpu_name;
  std::string architecture;  ///< the source's label (skylake, epyc-gen2, …), may be empty
  std::string cpu_key;       ///< cpu_model_key(cpu_name)
  /// microarchitecture_from_key(cpu_key), else the source's label (its typo `kabylabe` mended)
  std::string cpu_architecture;
  int chips = 0, cores = 0, threads = 0;
  double tdp_watts = 0;  ///< per chip; 0 when not given
  int year = 0;
  std::array<double, 11> watts{};  ///< at specpower_loads
};

/// CCF's per-vCPU minimum and maximum watts of one CPU microarchitecture at one provider.
struct ccf_coefficient {
  std::string provider;           ///< aws, gcp, azure
  std::string microarchitecture;  ///< as CCF names it ("Skylake", "AMD EPYC 2nd Gen")
  double min_watts = 0, max_watts = 0;
  bool provider_fallback = false;  ///< the provider's average (or median) of every CPU microarchitecture
};

/// CCF's mapping of an instance type (AWS), VM size (Azure) or machine family (GCP) to the
/// microarchitectures it may run on.
struct ccf_instance {
  std::string provider, instance_type;
  std::vector<std::string> processors;
};

struct estimate_tables {
  std::vector<specpower_server> servers;
  std::vector<ccf_coefficient> coefficients;  ///< CPU rows only; GPU rows are left out
  std::vector<ccf_instance> instances;
};

/// Splits CSV text (RFC 4180: quoted fields, "" inside quotes) into rows of fields. A row with
/// an unterminated quote is an error naming its line.
result<std::vector<std::vector<std::string>>> parse_csv(std::string_view text);

/// Parses the three tables from their CSV texts (columns as in sensors/power/models/). A SPECpower
/// row without a full curve or thread count is skipped; a missing column is an error.
result<estimate_tables> parse_estimate_tables(std::string_view specpower_csv, std::string_view coefficients_csv,
                                              std::string_view instances_csv);

/// The tables compiled into the binary, parsed on first use. They are tested, so a parse
/// failure is a build defect; it still yields empty tables (the meter falls back) rather than a
/// crash, and builtin_estimate_tables_error() says why.
const estimate_tables& builtin_estimate_tables();
const std::string& builtin_estimate_tables_error();

}  // namespace kepler
