// UN/LOCODE port names for the shipment answers: a small set of major sea and air ports shipped with
// the code (no network at run or test time). The format of any code is checked (lib/shipments/schemas.ts);
// a valid code that is not in this list is accepted and answered with a null name.
//
// Source: UNECE, UN/LOCODE code list (https://unece.org/trade/cefact/unlocode-code-list-country-and-territory),
// names as published there (without diacritics). UN/LOCODE is published by the United Nations Economic
// Commission for Europe; this subset is reproduced for identification of locations, with attribution.
// To add a place, copy its code and name from the UNECE list.
const PORTS: Readonly<Record<string, string>> = {
  // India
  INNSA: 'Nhava Sheva (Jawaharlal Nehru)',
  INBOM: 'Mumbai',
  INMAA: 'Chennai',
  INMUN: 'Mundra',
  INPAV: 'Pipavav (Victor) Port',
  INCOK: 'Cochin',
  INTUT: 'Tuticorin',
  INVTZ: 'Visakhapatnam',
  INCCU: 'Kolkata',
  INHZA: 'Hazira',
  INKAT: 'Kattupalli',
  INDEL: 'Delhi',
  INBLR: 'Bangalore',
  INHYD: 'Hyderabad',
  INAMD: 'Ahmedabad',
  INTKD: 'Tughlakabad',
  INPNQ: 'Pune',
  // Middle East
  AEJEA: 'Jebel Ali',
  AEDXB: 'Dubai',
  AEAUH: 'Abu Dhabi',
  OMSLL: 'Salalah',
  SAJED: 'Jeddah',
  QAHMD: 'Hamad Port',
  // Europe
  DEHAM: 'Hamburg',
  DEBRV: 'Bremerhaven',
  DEFRA: 'Frankfurt am Main',
  DEMUC: 'Muenchen',
  NLRTM: 'Rotterdam',
  NLAMS: 'Amsterdam',
  BEANR: 'Antwerpen',
  GBFXT: 'Felixstowe',
  GBSOU: 'Southampton',
  GBLGP: 'London Gateway Port',
  GBLHR: 'Heathrow Apt/London',
  FRLEH: 'Le Havre',
  FRCDG: 'Paris-Charles de Gaulle Apt',
  ESVLC: 'Valencia',
  ESALG: 'Algeciras',
  ESBCN: 'Barcelona',
  ITGOA: 'Genova',
  ITSPE: 'La Spezia',
  GRPIR: 'Piraeus',
  PLGDN: 'Gdansk',
  TRMER: 'Mersin',
  TRIST: 'Istanbul',
  // Asia
  CNSHA: 'Shanghai',
  CNNGB: 'Ningbo',
  CNSZX: 'Shenzhen',
  CNYTN: 'Yantian',
  CNTAO: 'Qingdao',
  CNTXG: 'Tianjin Xingang',
  CNXMN: 'Xiamen',
  CNCAN: 'Guangzhou',
  HKHKG: 'Hong Kong',
  SGSIN: 'Singapore',
  MYPKG: 'Port Klang',
  MYTPP: 'Tanjung Pelepas',
  LKCMB: 'Colombo',
  BDCGP: 'Chittagong',
  PKKHI: 'Karachi',
  THLCH: 'Laem Chabang',
  VNSGN: 'Ho Chi Minh City',
  VNHPH: 'Haiphong',
  IDTPP: 'Tanjung Priok',
  KRPUS: 'Busan',
  JPTYO: 'Tokyo',
  JPYOK: 'Yokohama',
  TWKHH: 'Kaohsiung',
  // Americas
  USNYC: 'New York',
  USLAX: 'Los Angeles',
  USLGB: 'Long Beach',
  USSAV: 'Savannah',
  USHOU: 'Houston',
  USSEA: 'Seattle',
  USORD: 'Chicago',
  USJFK: 'John F. Kennedy Apt/New York',
  CAVAN: 'Vancouver',
  CAMTR: 'Montreal',
  BRSSZ: 'Santos',
  MXZLO: 'Manzanillo',
  PAMIT: 'Manzanillo',
  // Africa and Oceania
  ZADUR: 'Durban',
  EGPSD: 'Port Said',
  KEMBA: 'Mombasa',
  TZDAR: 'Dar es Salaam',
  NGAPP: 'Apapa',
  AUSYD: 'Sydney',
  AUMEL: 'Melbourne',
};

/** The name of a UN/LOCODE place in the shipped set, or null when the code is not in it. */
export function portName(code: string | null | undefined): string | null {
  return code ? (PORTS[code] ?? null) : null;
}

/** How many places the shipped set names (tests, README). */
export const KNOWN_PORT_COUNT = Object.keys(PORTS).length;
