package org.tlsrelay.core.dns;

import com.ibm.icu.lang.UCharacter;
import com.ibm.icu.lang.UProperty;
import com.ibm.icu.text.Normalizer2;
import java.util.Optional;

/**
 * Which code points IDNA2008 lets a U-label hold: the derived property of RFC 5892 §3, computed from ICU's Unicode
 * properties. UTS #46 processing (ICU's {@code IDNA}) accepts more for compatibility with IDNA2003 (symbols such as
 * U+2603 are "NV8" there, valid under UTS #46 but not under IDNA2008); a name with such a code point cannot be looked
 * up under RFC 5891 §5.4, so the relay refuses it.
 */
final class Idna2008 {
    private Idna2008() {}

    /** The first code point of {@code uLabels} (labels joined by dots) IDNA2008 does not allow, if any. */
    static Optional<Integer> firstDisallowed(String uLabels) {
        for (int i = 0; i < uLabels.length(); ) {
            int cp = uLabels.codePointAt(i);
            if (cp != '.' && !allowed(cp)) {
                return Optional.of(cp);
            }
            i += Character.charCount(cp);
        }
        return Optional.empty();
    }

    /** RFC 5892 §3: PVALID, CONTEXTJ or CONTEXTO (their contexts are UTS #46's CheckJoiners and ICU's CONTEXTO). */
    static boolean allowed(int cp) {
        Optional<Boolean> exception = exception(cp);
        if (exception.isPresent()) {
            return exception.get();
        }
        int type = UCharacter.getType(cp);
        if (type == UCharacter.UNASSIGNED
                && !UCharacter.hasBinaryProperty(cp, UProperty.NONCHARACTER_CODE_POINT)) {
            return false; // §2.8 Unassigned
        }
        if (cp >= 'a' && cp <= 'z' || cp >= '0' && cp <= '9' || cp == '-') {
            return true; // §2.5 LDH
        }
        if (UCharacter.hasBinaryProperty(cp, UProperty.JOIN_CONTROL)) {
            return true; // §2.7 CONTEXTJ
        }
        String s = new String(Character.toChars(cp));
        if (!s.equals(Casefold.NFKC_CF.normalize(s))) {
            return false; // §2.2 Unstable
        }
        if (UCharacter.hasBinaryProperty(cp, UProperty.DEFAULT_IGNORABLE_CODE_POINT)
                || UCharacter.hasBinaryProperty(cp, UProperty.WHITE_SPACE)
                || UCharacter.hasBinaryProperty(cp, UProperty.NONCHARACTER_CODE_POINT)) {
            return false; // §2.3 IgnorableProperties
        }
        if (cp >= 0x20D0 && cp <= 0x20FF || cp >= 0x1D100 && cp <= 0x1D24F) {
            return false; // §2.4 IgnorableBlocks: combining marks for symbols, musical notations
        }
        int hangul = UCharacter.getIntPropertyValue(cp, UProperty.HANGUL_SYLLABLE_TYPE);
        if (hangul == UCharacter.HangulSyllableType.LEADING_JAMO
                || hangul == UCharacter.HangulSyllableType.VOWEL_JAMO
                || hangul == UCharacter.HangulSyllableType.TRAILING_JAMO) {
            return false; // §2.9 OldHangulJamo
        }
        // §2.1 LetterDigits
        return type == UCharacter.LOWERCASE_LETTER
                || type == UCharacter.UPPERCASE_LETTER
                || type == UCharacter.OTHER_LETTER
                || type == UCharacter.DECIMAL_DIGIT_NUMBER
                || type == UCharacter.MODIFIER_LETTER
                || type == UCharacter.NON_SPACING_MARK
                || type == UCharacter.COMBINING_SPACING_MARK;
    }

    /** RFC 5892 §2.6 Exceptions (F): allowed (PVALID, CONTEXTO) or not (DISALLOWED); empty for the others. */
    private static Optional<Boolean> exception(int cp) {
        return switch (cp) {
            case 0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007 -> Optional.of(true);
            case 0x00B7, 0x0375, 0x05F3, 0x05F4, 0x30FB -> Optional.of(true);
            case 0x0640, 0x07FA, 0x302E, 0x302F, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303B ->
                    Optional.of(false);
            default ->
                    cp >= 0x0660 && cp <= 0x0669 || cp >= 0x06F0 && cp <= 0x06F9
                            ? Optional.of(true)
                            : Optional.empty();
        };
    }

    /** Loaded on first use, like the rest of ICU here. */
    private static final class Casefold {
        static final Normalizer2 NFKC_CF = Normalizer2.getNFKCCasefoldInstance();
    }
}
