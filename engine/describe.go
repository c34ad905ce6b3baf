package engine

import "github.com/tenderpay/tender"

// Descriptions returns what the registered connectors that implement
// tender.Describer say of their input and details, by connector name.
func (e *Engine) Descriptions() map[string]tender.Description {
	return Describe(e.conns())
}

func (e *Engine) conns() []tender.Connector {
	var out []tender.Connector
	for _, c := range e.connectors {
		out = append(out, c)
	}
	return out
}

// Describe collects the descriptions of the connectors that implement
// tender.Describer, by connector name.
func Describe(conns []tender.Connector) map[string]tender.Description {
	out := map[string]tender.Description{}
	for _, c := range conns {
		if d, ok := c.(tender.Describer); ok {
			out[c.Name()] = d.Describe()
		}
	}
	return out
}
