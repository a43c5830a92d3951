"""Verdict on a tag from a UV photo and a filtered photo: decode, signature, hidden layer.

Each module's *filter ratio* is its filtered glow over its UV glow, both above the level of
light (unwritten) modules. The ratio cancels lamp and camera unevenness shared by the two
photos: rewritten modules pass the long-pass filter, single-pass ones barely do. Among the
dark data modules the k brightest ratios (k = the size of the keyed set, fixed by the scheme)
are taken as glowing; against the set the key predicts we count hits (expected and glowing)
and false glows (glowing but not expected), and require a real glow (median contrast).
Confidence = hit rate - false-glow rate (Youden's J, clipped to [0, 1]: 1 = perfect, 0 = a guess
or worse); AUC is the probability an expected module out-glows an unexpected one.

Verdicts say what was checked. GENUINE only when a cryptographic check was made and passed
(the hidden layer with the key, the signature with the public key) and nothing failed; a tag
that decodes and glows but was checked with neither is DECODED, NOT AUTHENTICATED; a payload
without a signature, when one was asked for, is NO SIGNATURE; anything failed is REJECTED.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from lasergen import LasergenError
from lasergen.photo import Sampled, sample_pair
from lasergen.security import hidden, signing
from lasergen.sources.qr import make_qr

PASS = {"hit_rate": 0.9, "false_rate": 0.1, "grid_agreement": 0.9, "contrast": 2.0}


def otsu_threshold(values: np.ndarray) -> float:
    """Split that maximises between-class variance (values sorted once, cumulative sums)."""
    v = np.sort(np.ravel(values).astype(float))
    if v.size < 2 or v[0] == v[-1]:
        return float(v[0]) if v.size else 0.0
    n = np.arange(1, v.size)
    c = np.cumsum(v)[:-1]
    w0, w1 = n / v.size, 1 - n / v.size
    m0, m1 = c / n, (v.sum() - c) / (v.size - n)
    between = w0 * w1 * (m0 - m1) ** 2
    i = int(np.argmax(between))
    return float((v[i] + v[i + 1]) / 2)


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Mann-Whitney U / (n_pos * n_neg), ties counted half."""
    if positive.size == 0 or negative.size == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([positive, negative]))
    u = ranks[:positive.size].sum() - positive.size * (positive.size + 1) / 2
    return float(u / (positive.size * negative.size))


def symbol_for(sampled: Sampled) -> np.ndarray:
    loc = sampled.located
    code = make_qr(loc.text, loc.error, loc.version, loc.data_mask if loc.data_mask >= 0 else None)
    return hidden.symbol_matrix(code)


def filter_ratio(sampled: Sampled, symbol: np.ndarray) -> np.ndarray:
    """Filtered over UV glow per module, both above the light modules' level; all 0 when the
    dark modules do not glow at all (a printed copy), since no ratio then means anything."""
    light = ~symbol
    uv = sampled.uv - np.median(sampled.uv[light])
    filt = sampled.filtered - np.median(sampled.filtered[light])
    scale = float(np.median(uv[symbol]))
    if not scale > 1e-6:
        return np.zeros_like(uv)
    return filt / np.maximum(uv, 0.25 * scale)


def hidden_check(ratio: np.ndarray, expected: np.ndarray, candidates: np.ndarray) -> dict:
    """Rank the candidates' filter ratios; the k = |expected| brightest are the glowing ones.

    The scheme fixes k, so no brightness threshold is needed (robust to blur and exposure);
    a copy that rewrote other modules, all modules or none ranks the expected ones at random.
    `contrast` (median ratio of expected over unexpected modules) must also show a real glow.
    """
    scores = ratio[candidates]
    exp = expected[candidates]
    k = int(exp.sum())
    glowing = np.zeros(scores.size, dtype=bool)
    glowing[np.argsort(-scores, kind="stable")[:k]] = True
    hit = float(glowing[exp].mean()) if k else 0.0
    false = float(glowing[~exp].mean()) if (~exp).any() else 0.0
    low = float(np.median(scores[~exp])) if (~exp).any() else 0.0
    contrast = float(np.median(scores[exp]) / max(low, 0.02)) if k else 0.0
    area = auc(scores[exp], scores[~exp])
    return {"expected": k, "expected_glowing": int(glowing[exp].sum()),
            "unexpected": int((~exp).sum()), "unexpected_glowing": int(glowing[~exp].sum()),
            "hit_rate": round(hit, 4), "false_rate": round(false, 4),
            "confidence": round(min(1.0, max(0.0, hit - false)), 4),
            "auc": round(area, 4) if np.isfinite(area) else None, "contrast": round(contrast, 2),
            "ok": hit >= PASS["hit_rate"] and false <= PASS["false_rate"] and contrast >= PASS["contrast"]}


def check_sampled(sampled: Sampled, key: bytes | None = None, public_key=None,
                  fraction: float = hidden.DEFAULT_FRACTION) -> dict:
    payload = sampled.located.text
    symbol = symbol_for(sampled)
    if symbol.shape != sampled.uv.shape:
        raise LasergenError(f"check: re-encoded symbol is {symbol.shape[0]} modules, photo grid {sampled.uv.shape[0]}")
    uv_dark = sampled.uv > otsu_threshold(sampled.uv)
    agreement = float((uv_dark == symbol).mean())
    result = {"payload": payload, "decoded": True, "grid_agreement": round(agreement, 4),
              "version": sampled.located.version, "error": sampled.located.error,
              "filtered_shift_px": list(sampled.shift_px), "checks": {}}
    checks = result["checks"]
    checks["grid"] = {"ok": agreement >= PASS["grid_agreement"], "agreement": round(agreement, 4)}
    if public_key is not None:
        ok, message, reason = signing.verify_payload(payload, public_key)
        checks["signature"] = {"ok": ok, "message": message, "reason": reason}
    if key is not None:
        if sampled.filtered is None:
            raise LasergenError("check: the hidden-layer check needs the filtered photo")
        expected = hidden.hidden_modules(key, payload, symbol, fraction)
        candidates = symbol & hidden.data_module_mask(symbol.shape[0])
        checks["hidden"] = hidden_check(filter_ratio(sampled, symbol), expected, candidates)
    elif sampled.filtered is not None:
        ratio = filter_ratio(sampled, symbol)[symbol]
        result["filtered_glowing_fraction"] = round(float((ratio > otsu_threshold(ratio)).mean()), 4)
    result.update(judge(checks))
    result["verdict"] = verdict_line(result)
    return result


CRYPTO_CHECKS = ("signature", "hidden")
HEADS = {"genuine": "GENUINE", "rejected": "REJECTED", "no_signature": "NO SIGNATURE",
         "not_authenticated": "DECODED, NOT AUTHENTICATED (no key or public key given)"}


def judge(checks: dict) -> dict:
    """status, ok (= genuine) and confidence in [0, 1] (None when nothing cryptographic was checked)."""
    crypto = [name for name in CRYPTO_CHECKS if name in checks]
    if "signature" in checks and checks["signature"]["reason"].startswith("no signature"):
        status = "no_signature"
    elif not all(c["ok"] for c in checks.values()):
        status = "rejected"
    else:
        status = "genuine" if crypto else "not_authenticated"
    if "hidden" in checks:
        confidence = checks["hidden"]["confidence"]
    elif "signature" in checks:
        confidence = 1.0 if checks["signature"]["ok"] else 0.0
    else:
        confidence = None
    return {"status": status, "ok": status == "genuine", "authenticated_by": crypto, "confidence": confidence}


def verdict_line(r: dict) -> str:
    c = r["checks"]
    parts = [f"decoded {r['payload'][:40]!r}" + ("..." if len(r["payload"]) > 40 else ""),
             f"grid agreement {r['grid_agreement']:.3f}"]
    if "signature" in c:
        parts.append(c["signature"]["reason"])
    if "hidden" in c:
        h = c["hidden"]
        area = f"AUC {h['auc']:.3f}" if h["auc"] is not None else "AUC -"
        parts.append(f"hidden layer {h['expected_glowing']}/{h['expected']} expected modules glow, "
                     f"{h['unexpected_glowing']}/{h['unexpected']} unexpected ({area})")
    head = HEADS[r["status"]]
    if r["confidence"] is not None:
        head += f" (confidence {r['confidence']:.3f})"
    return f"{head}: " + "; ".join(parts)


def check_photos(uv, filtered=None, key: bytes | None = None, public_key=None,
                 fraction: float = hidden.DEFAULT_FRACTION, max_megapixels: float | None = None) -> dict:
    """Photos (paths, PIL images or arrays) -> verdict dict with a one-line `verdict`."""
    with np.errstate(all="ignore"):  # degenerate photos are judged, never warned about by numpy
        return check_sampled(sample_pair(uv, filtered, max_megapixels), key, public_key, fraction)
