package tender

import (
	"math"
	"strconv"
	"strings"
)

// currencyExponents holds the ISO 4217 minor-unit exponent of every active
// currency code. A code that is not here is not a currency Tender accepts.
var currencyExponents = map[string]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
	"BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BRL": 2,
	"BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2,
	"COP": 2, "CRC": 2, "CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
	"ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2,
	"GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2,
	"IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2, "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0,
	"KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2,
	"MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2,
	"NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2,
	"RON": 2, "RSD": 2, "RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2,
	"SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2,
	"TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0,
	"USD": 2, "UYU": 2, "UZS": 2, "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XCG": 2, "XOF": 0,
	"XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// CurrencyExponent returns the number of minor-unit digits of an ISO 4217
// currency code (EUR 2, JPY 0, KWD 3) and whether the code is known.
func CurrencyExponent(code string) (int, bool) {
	e, ok := currencyExponents[code]
	return e, ok
}

// ValidCurrency reports whether code is an upper-case ISO 4217 code Tender knows.
func ValidCurrency(code string) bool {
	_, ok := currencyExponents[code]
	return ok
}

// Amount is money: an integer number of minor units of one currency.
// There are no floats anywhere in Tender's handling of money.
type Amount struct {
	Value    int64  // minor units, e.g. 1050 for EUR 10.50
	Currency string // ISO 4217 code, upper case
}

// NewAmount returns the amount after checking that the currency is known and
// the value is not negative.
func NewAmount(value int64, currency string) (Amount, error) {
	if !ValidCurrency(currency) {
		return Amount{}, Invalid("currency", "currency %q is not an ISO 4217 code Tender knows", currency)
	}
	if value < 0 {
		return Amount{}, Invalid("amount", "amount must not be negative")
	}
	return Amount{Value: value, Currency: currency}, nil
}

// ParseAmount parses a decimal major-unit string such as "10.50" exactly into
// minor units of currency. More decimals than the currency has is an error,
// as are signs, exponents, spaces and thousands separators.
func ParseAmount(s, currency string) (Amount, error) {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		return Amount{}, Invalid("currency", "currency %q is not an ISO 4217 code Tender knows", currency)
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (hasDot && (frac == "" || !allDigits(frac))) {
		return Amount{}, Invalid("amount", "amount %q is not a decimal number like 10.50", s)
	}
	if len(frac) > exp {
		return Amount{}, Invalid("amount", "amount %q has more than %d decimals, the most %s allows", s, exp, currency)
	}
	frac += strings.Repeat("0", exp-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v > MaxAmount {
		return Amount{}, Invalid("amount", "amount %q is too large", s)
	}
	return Amount{Value: v, Currency: currency}, nil
}

// MaxAmount is the largest amount in minor units Tender handles. It leaves
// room to add captured and refunded totals without overflow.
const MaxAmount = math.MaxInt64 / 4

// String formats the amount in major units with exactly the currency's
// number of decimals, e.g. "10.50" for 1050 EUR and "1050" for 1050 JPY.
func (a Amount) String() string {
	return FormatMinor(a.Value, a.Currency)
}

// FormatMinor formats minor units of currency as a major-unit decimal string.
// An unknown currency is formatted with two decimals.
func FormatMinor(value int64, currency string) string {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		exp = 2
	}
	sign := ""
	u := uint64(value)
	if value < 0 {
		sign = "-"
		u = uint64(-value)
	}
	digits := strconv.FormatUint(u, 10)
	if exp == 0 {
		return sign + digits
	}
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
