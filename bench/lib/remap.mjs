// remap: a copy of a stored document with every id of the map replaced,
// in ObjectId values, in strings (directKey, phoneKey "-<id>") and in keys
// (lastReadSeq); the seeds copy a document the API created this way.
import { ObjectId } from 'mongodb';

export function remap(v, map) {
	if (typeof v === 'string') {
		for (const [from, to] of map)
			v = v.replaceAll(from, to);
		return v;
	}
	if (v instanceof ObjectId) {
		const h = v.toHexString();
		return map.has(h) ? new ObjectId(map.get(h)) : v;
	}
	if (Array.isArray(v))
		return v.map((x) => remap(x, map));
	if (v !== null && typeof v === 'object' && v.constructor === Object) {
		const o = {};
		for (const [k, x] of Object.entries(v))
			o[remap(k, map)] = remap(x, map);
		return o;
	}
	return v;
}
