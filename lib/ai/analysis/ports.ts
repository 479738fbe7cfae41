// Ports, airports and inland container depots a forwarder in India meets, by UN/LOCODE, with the names,
// spellings and codes they are written as. Recognises names anywhere, five-letter UN/LOCODEs written in
// capitals, and three-letter IATA / forwarder codes only where a routing context makes them unambiguous.

interface PortEntry {
  /** UN/LOCODE. */
  code: string;
  /** Names and spellings, matched case-insensitively as whole words. */
  names: string[];
  /** Three-letter airport or forwarder codes (IATA, "NSA"), matched in capitals in a routing context only. */
  short?: string[];
}

export const PORTS: readonly PortEntry[] = [
  // India: seaports
  { code: 'INNSA', names: ['Nhava Sheva', 'Nhavasheva', 'Nava Sheva', 'Navasheva', 'JNPT', 'JNPA', 'JN Port', 'Jawaharlal Nehru Port'], short: ['NSA'] },
  { code: 'INMUN', names: ['Mundra'] },
  { code: 'INMAA', names: ['Chennai', 'Madras'], short: ['MAA'] },
  { code: 'INCCU', names: ['Kolkata', 'Calcutta'], short: ['CCU'] },
  { code: 'INHAL', names: ['Haldia'] },
  { code: 'INTUT', names: ['Tuticorin', 'Thoothukudi', 'Thoothukkudi'] },
  { code: 'INCOK', names: ['Kochi', 'Cochin'], short: ['COK'] },
  { code: 'INPAV', names: ['Pipavav'] },
  { code: 'INHZA', names: ['Hazira'] },
  { code: 'INVTZ', names: ['Visakhapatnam', 'Vizag', 'Vishakhapatnam'], short: ['VTZ'] },
  { code: 'INIXY', names: ['Kandla', 'Deendayal Port'] },
  { code: 'INKRI', names: ['Krishnapatnam'] },
  { code: 'INKAT', names: ['Kattupalli'] },
  { code: 'INENR', names: ['Ennore', 'Kamarajar Port'] },
  { code: 'INIXE', names: ['Mangalore', 'Mangaluru', 'New Mangalore'], short: ['IXE'] },
  { code: 'INMRM', names: ['Mormugao', 'Marmagao'] },
  // India: airports and inland depots
  { code: 'INBOM', names: ['Mumbai', 'Bombay', 'Sahar'], short: ['BOM'] },
  { code: 'INDEL', names: ['Delhi', 'New Delhi'], short: ['DEL'] },
  { code: 'INBLR', names: ['Bengaluru', 'Bangalore'], short: ['BLR'] },
  { code: 'INHYD', names: ['Hyderabad'], short: ['HYD'] },
  { code: 'INAMD', names: ['Ahmedabad'], short: ['AMD'] },
  { code: 'INPNQ', names: ['Pune'], short: ['PNQ'] },
  { code: 'INTKD', names: ['Tughlakabad', 'Tughlakabad ICD', 'ICD TKD', 'ICD Delhi'], short: ['TKD'] },
  { code: 'INPPG', names: ['Patparganj'] },
  { code: 'INDER', names: ['Dadri'] },
  { code: 'INLDH', names: ['Ludhiana'] },
  { code: 'INWFD', names: ['Whitefield'] },
  { code: 'INSNF', names: ['Sanand'] },
  // Middle East, South and South-East Asia
  { code: 'AEJEA', names: ['Jebel Ali', 'Jabel Ali'], short: ['JEA'] },
  { code: 'AEDXB', names: ['Dubai'], short: ['DXB', 'DWC'] },
  { code: 'AEAUH', names: ['Abu Dhabi', 'Khalifa Port'], short: ['AUH'] },
  { code: 'AESHJ', names: ['Sharjah'], short: ['SHJ'] },
  { code: 'OMSLL', names: ['Salalah'] },
  { code: 'OMSOH', names: ['Sohar'] },
  { code: 'QADOH', names: ['Doha'], short: ['DOH'] },
  { code: 'QAHMD', names: ['Hamad Port'] },
  { code: 'SAJED', names: ['Jeddah', 'Jiddah'], short: ['JED'] },
  { code: 'SADMM', names: ['Dammam'], short: ['DMM'] },
  { code: 'KWKWI', names: ['Kuwait'], short: ['KWI'] },
  { code: 'BHBAH', names: ['Bahrain'], short: ['BAH'] },
  { code: 'PKKHI', names: ['Karachi'], short: ['KHI'] },
  { code: 'LKCMB', names: ['Colombo'], short: ['CMB'] },
  { code: 'BDCGP', names: ['Chittagong', 'Chattogram'] },
  { code: 'BDDAC', names: ['Dhaka'], short: ['DAC'] },
  { code: 'NPKTM', names: ['Kathmandu'], short: ['KTM'] },
  { code: 'SGSIN', names: ['Singapore'], short: ['SIN'] },
  { code: 'MYPKG', names: ['Port Klang', 'Port Kelang'] },
  { code: 'MYTPP', names: ['Tanjung Pelepas'] },
  { code: 'THLCH', names: ['Laem Chabang'] },
  { code: 'VNSGN', names: ['Ho Chi Minh', 'Saigon', 'Cat Lai'], short: ['SGN'] },
  { code: 'IDJKT', names: ['Jakarta', 'Tanjung Priok'], short: ['CGK'] },
  // East Asia
  { code: 'CNSHA', names: ['Shanghai'], short: ['PVG', 'SHA'] },
  { code: 'CNNGB', names: ['Ningbo'] },
  { code: 'CNSZX', names: ['Shenzhen'], short: ['SZX'] },
  { code: 'CNYTN', names: ['Yantian'] },
  { code: 'CNSHK', names: ['Shekou'] },
  { code: 'CNTAO', names: ['Qingdao'], short: ['TAO'] },
  { code: 'CNTSN', names: ['Tianjin', 'Xingang'] },
  { code: 'CNXMN', names: ['Xiamen'] },
  { code: 'CNCAN', names: ['Guangzhou', 'Nansha'], short: ['CAN'] },
  { code: 'HKHKG', names: ['Hong Kong', 'Hongkong'], short: ['HKG'] },
  { code: 'TWKHH', names: ['Kaohsiung'] },
  { code: 'KRPUS', names: ['Busan', 'Pusan'] },
  { code: 'JPTYO', names: ['Tokyo'], short: ['NRT'] },
  // Europe
  { code: 'NLRTM', names: ['Rotterdam'] },
  { code: 'NLAMS', names: ['Amsterdam', 'Schiphol'], short: ['AMS'] },
  { code: 'DEHAM', names: ['Hamburg'], short: ['HAM'] },
  { code: 'DEBRV', names: ['Bremerhaven'] },
  { code: 'DEFRA', names: ['Frankfurt'], short: ['FRA'] },
  { code: 'DEMUC', names: ['Munich', 'München', 'Muenchen'], short: ['MUC'] },
  { code: 'BEANR', names: ['Antwerp', 'Antwerpen', 'Anvers'] },
  { code: 'BEBRU', names: ['Brussels'], short: ['BRU'] },
  { code: 'GBFXT', names: ['Felixstowe'] },
  { code: 'GBLGP', names: ['London Gateway'] },
  { code: 'GBSOU', names: ['Southampton'] },
  { code: 'GBLON', names: ['London', 'Heathrow'], short: ['LHR'] },
  { code: 'GBMAN', names: ['Manchester'], short: ['MAN'] },
  { code: 'FRLEH', names: ['Le Havre'] },
  { code: 'FRPAR', names: ['Paris', 'Charles de Gaulle'], short: ['CDG'] },
  { code: 'ITGOA', names: ['Genoa', 'Genova'] },
  { code: 'ITSPE', names: ['La Spezia'] },
  { code: 'ITMIL', names: ['Milan', 'Milano', 'Malpensa'], short: ['MXP'] },
  { code: 'ESVLC', names: ['Valencia'] },
  { code: 'ESBCN', names: ['Barcelona'] },
  { code: 'ESALG', names: ['Algeciras'] },
  { code: 'GRPIR', names: ['Piraeus'] },
  { code: 'PLGDN', names: ['Gdansk', 'Gdańsk'] },
  { code: 'PLGDY', names: ['Gdynia'] },
  { code: 'TRMER', names: ['Mersin'] },
  { code: 'TRIST', names: ['Istanbul', 'Ambarli'] },
  { code: 'EGPSD', names: ['Port Said'] },
  // Africa, Americas, Oceania
  { code: 'KEMBA', names: ['Mombasa'] },
  { code: 'ZADUR', names: ['Durban'] },
  { code: 'NGAPP', names: ['Apapa', 'Lagos'] },
  { code: 'USNYC', names: ['New York', 'Newark'], short: ['JFK', 'EWR'] },
  { code: 'USLAX', names: ['Los Angeles'], short: ['LAX'] },
  { code: 'USLGB', names: ['Long Beach'] },
  { code: 'USSAV', names: ['Savannah'] },
  { code: 'USHOU', names: ['Houston'], short: ['IAH'] },
  { code: 'USCHS', names: ['Charleston'] },
  { code: 'USORF', names: ['Norfolk'] },
  { code: 'USCHI', names: ['Chicago'], short: ['ORD'] },
  { code: 'USATL', names: ['Atlanta'], short: ['ATL'] },
  { code: 'USMIA', names: ['Miami'], short: ['MIA'] },
  { code: 'CAVAN', names: ['Vancouver'] },
  { code: 'CATOR', names: ['Toronto'], short: ['YYZ'] },
  { code: 'BRSSZ', names: ['Santos port'] },
  { code: 'AUSYD', names: ['Sydney'], short: ['SYD'] },
  { code: 'AUMEL', names: ['Melbourne'], short: ['MEL'] },
];

const byName = new Map<string, string>();
const byShort = new Map<string, string>();
const codes = new Set<string>();
for (const p of PORTS) {
  codes.add(p.code);
  for (const n of p.names) byName.set(n.toLowerCase(), p.code);
  for (const s of p.short ?? []) byShort.set(s, p.code);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '[\\s-]+');
// Longest first so "New Delhi" wins over "Delhi" and "Tughlakabad ICD" over "Tughlakabad".
const NAME_RE = new RegExp(
  `(?<![\\p{L}\\p{N}])(${[...byName.keys()]
    .sort((a, b) => b.length - a.length)
    .map(escape)
    .join('|')})(?![\\p{L}\\p{N}])`,
  'giu',
);
const LOCODE_RE = /(?<![A-Za-z0-9])([A-Z]{2})([A-Z2-9]{3})(?![A-Za-z0-9])/g;
const SHORT_RE = /(?<![A-Za-z0-9])([A-Z]{3})(?![A-Za-z0-9])/g;
// A routing context for a three-letter code: next to another place ("BOM-DXB-ORD", "SHA - NSA"), in
// brackets after a name ("Bengaluru (BLR)"), or after a routing word ("arriving AMS", "ex NSA").
const ROUTE_BEFORE =
  /(?:\b(?:ex|from|to|via|at|arriving|arrival|departing|departure|origin|destination|dest|POL|POD|POR|FPD|ETA|ETD|into|in)\s*[:.]?\s*|[(]\s*|[-/>–]\s*|\bto\s+)$/i;
const ROUTE_AFTER = /^(?:\s*[)]|\s*[-/>–]\s*[A-Z]{3}\b|\s*[-/>–]\s*\p{Lu}|\s+to\s+|\s+via\s+)/u;

export interface PortHit {
  code: string;
  start: number;
}

/** UN/LOCODEs of the ports and airports named in the text, in order of first mention. */
export function findPorts(text: string): string[] {
  const hits: PortHit[] = [];
  for (const m of text.matchAll(NAME_RE)) {
    const key = m[1]!.toLowerCase().replace(/[\s-]+/g, ' ');
    const code = byName.get(key);
    if (code) hits.push({ code, start: m.index });
  }
  for (const m of text.matchAll(LOCODE_RE)) {
    const code = `${m[1]}${m[2]}`;
    if (codes.has(code)) hits.push({ code, start: m.index });
  }
  for (const m of text.matchAll(SHORT_RE)) {
    const code = byShort.get(m[1]!);
    if (!code) continue;
    const before = text.slice(Math.max(0, m.index - 16), m.index);
    const after = text.slice(m.index + 3, m.index + 12);
    if (ROUTE_BEFORE.test(before) || ROUTE_AFTER.test(after)) hits.push({ code, start: m.index });
  }
  hits.sort((a, b) => a.start - b.start);
  return [...new Set(hits.map((h) => h.code))];
}

/** True when the code is in the table (the LLM's suggestions are only kept when it is). */
export function isKnownPort(code: string): boolean {
  return codes.has(code);
}
