// The C++ file of the cc1plus case of corpus/record-all.sh: std::map of std::map instantiated
// over three key and value types, a compile-time recursive template, and structured bindings,
// so g++ instantiates the red-black tree templates and inlines through them.
#include <map>

template <int N> struct Fib { static constexpr long value = Fib<N - 1>::value + Fib<N - 2>::value; };
template <> struct Fib<0> { static constexpr long value = 0; };
template <> struct Fib<1> { static constexpr long value = 1; };

template <typename K, typename V> V sumProducts(const std::map<K, V>& m) {
  V total{};
  for (const auto& [k, v] : m) total += V(k) * v;
  return total;
}

long run(int n) {
  std::map<long, long> m;
  for (int i = 0; i < n; i++) m[i * 7 % 1009] += Fib<40>::value;
  std::map<long, std::map<int, double>> nested;
  for (const auto& [k, v] : m) nested[v % 13][int(k)] = double(k) / 3;
  long total = sumProducts(m);
  for (const auto& [k, inner] : nested) total += long(sumProducts(inner)) + k;
  return total + Fib<60>::value;
}
