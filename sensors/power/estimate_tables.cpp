#include "sensors/power/estimate_tables.hpp"

#include <map>

#include "base/text.hpp"
#include "sensors/power/cpu_names.hpp"

namespace kepler {

// The CSV files' bytes, compiled in by kepler_embed_text (sensors/CMakeLists.txt).
namespace embedded {
extern const std::string_view specpower_csv;
extern const std::string_view ccf_coefficients_csv;
extern const std::string_view ccf_instances_csv;
}  // namespace embedded

namespace {

/// A parsed table: rows of fields by column name.
class csv_table {
 public:
  static result<csv_table> parse(std::string_view text, std::string_view what,
                                 std::initializer_list<std::string_view> needed) {
    auto rows = parse_csv(text);
    if (!rows) return make_error(errc::parse, std::string(what) + ": " + rows.error_message());
    csv_table table;
    if (rows.value().empty()) return make_error(errc::parse, std::string(what) + ": no header row");
    const auto& header = rows.value().front();
    for (std::size_t i = 0; i < header.size(); ++i) table.columns_[header[i]] = i;
    for (auto name : needed)
      if (!table.columns_.contains(std::string(name)))
        return make_error(errc::parse, std::string(what) + ": no column \"" + std::string(name) + "\"");
    table.rows_.assign(rows.value().begin() + 1, rows.value().end());
    return table;
  }

  std::size_t size() const { return rows_.size(); }
  /// Field `column` of row `row`; empty when the row is short.
  const std::string& at(std::size_t row, const std::string& column) const {
    static const std::string empty;
    const auto& fields = rows_[row];
    const auto index = columns_.at(column);
    return index < fields.size() ? fields[index] : empty;
  }

 private:
  std::map<std::string, std::size_t> columns_;
  std::vector<std::vector<std::string>> rows_;
};

bool parse_number(const std::string& text, double& value) { return parse_decimal(trim_space(text), value); }

/// `95.0` or `2` as an integer count (the SPECpower file writes some counts as floats).
bool parse_count(const std::string& text, int& value) {
  double number = 0;
  if (!parse_number(text, number) || number < 0 || number > 1e6) return false;
  value = static_cast<int>(number);
  return static_cast<double>(value) == number;
}

constexpr std::array<const char*, 11> specpower_columns{"ActiveIdle",  "10_AvgPower", "20_AvgPower", "30_AvgPower",
                                                        "40_AvgPower", "50_AvgPower", "60_AvgPower", "70_AvgPower",
                                                        "80_AvgPower", "90_AvgPower", "100_AvgPower"};

/// One server, or false when its curve or thread count is missing or not positive.
bool read_server(const csv_table& table, std::size_t row, specpower_server& server) {
  if (!parse_count(table.at(row, "source_row"), server.source_row)) return false;
  server.vendor = table.at(row, "HW_Vendor");
  server.model = table.at(row, "HW_Model");
  server.cpu_name = table.at(row, "HW_CPUName");
  server.architecture = table.at(row, "Architecture");
  server.cpu_key = cpu_model_key(server.cpu_name);
  server.cpu_architecture = microarchitecture_from_key(server.cpu_key);
  if (server.cpu_architecture.empty())
    server.cpu_architecture = server.architecture == "kabylabe" ? "kabylake" : server.architecture;
  if (!parse_count(table.at(row, "CPUChips"), server.chips) || server.chips == 0) return false;
  if (!parse_count(table.at(row, "CPUThreads"), server.threads) || server.threads == 0) return false;
  parse_count(table.at(row, "CPUCores"), server.cores);
  parse_number(table.at(row, "TDP"), server.tdp_watts);
  parse_count(table.at(row, "Hardware_Availability_Year"), server.year);
  for (std::size_t i = 0; i < specpower_columns.size(); ++i)
    if (!parse_number(table.at(row, specpower_columns[i]), server.watts[i]) || !(server.watts[i] > 0)) return false;
  return true;
}

result<std::vector<specpower_server>> read_servers(std::string_view text) {
  auto table = csv_table::parse(text, "SPECpower table",
                                {"source_row", "HW_Vendor", "HW_Model", "HW_CPUName", "Architecture", "CPUChips",
                                 "CPUCores", "CPUThreads", "TDP", "Hardware_Availability_Year", "ActiveIdle",
                                 "10_AvgPower", "100_AvgPower"});
  if (!table) return table.error();
  std::vector<specpower_server> servers;
  for (std::size_t row = 0; row < table.value().size(); ++row)
    if (specpower_server server; read_server(table.value(), row, server)) servers.push_back(std::move(server));
  return servers;
}

result<std::vector<ccf_coefficient>> read_coefficients(std::string_view text) {
  auto table =
      csv_table::parse(text, "CCF coefficients",
                       {"provider", "microarchitecture", "processor_kind", "min_watts_per_vcpu", "max_watts_per_vcpu"});
  if (!table) return table.error();
  const auto& t = table.value();
  std::vector<ccf_coefficient> coefficients;
  for (std::size_t row = 0; row < t.size(); ++row) {
    if (t.at(row, "processor_kind") != "CPU") continue;  // GPU rows are watts per GPU
    ccf_coefficient c{t.at(row, "provider"), t.at(row, "microarchitecture"), 0, 0, false};
    if (!parse_number(t.at(row, "min_watts_per_vcpu"), c.min_watts) ||
        !parse_number(t.at(row, "max_watts_per_vcpu"), c.max_watts))
      return make_error(errc::parse, "CCF coefficients row " + std::to_string(row + 2) + ": watts are not numbers");
    // The derived file names the provider-wide rows "(unknown processor: …)".
    c.provider_fallback = c.microarchitecture.starts_with("(");
    coefficients.push_back(std::move(c));
  }
  return coefficients;
}

std::vector<std::string> split_processors(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (auto end = text.find(';');; end = text.find(';', start)) {
    auto part = trim_space(std::string_view(text).substr(start, end - start));
    if (!part.empty()) parts.emplace_back(part);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

result<std::vector<ccf_instance>> read_instances(std::string_view text) {
  auto table = csv_table::parse(text, "CCF instance types", {"provider", "instance_type", "compute_processors"});
  if (!table) return table.error();
  const auto& t = table.value();
  std::vector<ccf_instance> instances;
  for (std::size_t row = 0; row < t.size(); ++row)
    instances.push_back(
        {t.at(row, "provider"), t.at(row, "instance_type"), split_processors(t.at(row, "compute_processors"))});
  return instances;
}

struct builtin_state {
  estimate_tables tables;
  std::string error;
};

const builtin_state& builtin() {
  static const builtin_state state = [] {
    builtin_state s;
    auto parsed =
        parse_estimate_tables(embedded::specpower_csv, embedded::ccf_coefficients_csv, embedded::ccf_instances_csv);
    if (parsed) s.tables = std::move(parsed).value();
    else s.error = parsed.error_message();
    return s;
  }();
  return state;
}

}  // namespace

result<std::vector<std::vector<std::string>>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  std::size_t line = 1, quote_line = 0;
  auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    if (!(row.size() == 1 && row.front().empty())) rows.push_back(std::move(row));  // skip blank lines
    row.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += text[++i];
      else if (c == '"') quoted = false;
      else field += c;
      if (c == '\n') ++line;
    } else if (c == '"') {
      quoted = true;
      quote_line = line;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      end_row();
      ++line;
    } else if (c != '\r') {
      field += c;
    }
  }
  if (quoted) return make_error(errc::parse, "unterminated quote opened on line " + std::to_string(quote_line));
  if (!field.empty() || !row.empty()) end_row();
  return rows;
}

result<estimate_tables> parse_estimate_tables(std::string_view specpower_csv, std::string_view coefficients_csv,
                                              std::string_view instances_csv) {
  auto servers = read_servers(specpower_csv);
  if (!servers) return servers.error();
  auto coefficients = read_coefficients(coefficients_csv);
  if (!coefficients) return coefficients.error();
  auto instances = read_instances(instances_csv);
  if (!instances) return instances.error();
  return estimate_tables{std::move(servers).value(), std::move(coefficients).value(), std::move(instances).value()};
}

const estimate_tables& builtin_estimate_tables() { return builtin().tables; }

const std::string& builtin_estimate_tables_error() { return builtin().error; }

}  // namespace kepler
