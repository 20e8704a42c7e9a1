package org.tlsrelay.core.policy.mtasts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StsTxtRecordTest {

    private static String id(String... records) {
        return assertInstanceOf(StsTxtRecord.Found.class, StsTxtRecord.discover(List.of(records)))
                .id();
    }

    private static String noPolicy(String... records) {
        return assertInstanceOf(
                        StsTxtRecord.NoPolicy.class, StsTxtRecord.discover(List.of(records)))
                .reason();
    }

    @Test
    void readsTheIdOfTheRfcExample() {
        assertEquals("20160831085700Z", id("v=STSv1; id=20160831085700Z;"));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "v=STSv1;id=abc", // no blanks
                "v=STSv1; id=abc", // no trailing separator
                "v=STSv1;\tid=abc\t;\t", // tabs around the separator
                "v=STSv1; id=abc; ext=1", // extension after the id
                "v=STSv1; foo.bar-x_y=a:b/c; id=abc", // extension before, with the characters
                // ext-value allows
            })
    void acceptsEveryFormTheGrammarAllows(String record) {
        assertEquals("abc", id(record));
    }

    @Test
    void acceptsIdsOfOneToThirtyTwoLettersAndDigits() {
        assertEquals("a", id("v=STSv1; id=a"));
        assertEquals("A1".repeat(16), id("v=STSv1; id=" + "A1".repeat(16)));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "v=STSv1; id=" + "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q", // 33 characters
                "v=STSv1; id=abc-123", // not alphanumeric
                "v=STSv1; id=", // empty
                "v=STSv1;", // no id at all
                "v=STSv1; ext=1", // only an extension
                "v=STSv1; id=abc; id=def", // two ids
                "v=STSv1; id=abc;; ext=1", // empty field
                "v=STSv1; id=abc; bad field", // not name=value
                "v=STSv1; id=abc; _x=1", // extension name must start with a letter or digit
                "v=STSv1; id=abc; x=a=b", // '=' is not allowed in an extension value
            })
    void rejectsRecordsThatBreakTheGrammar(String record) {
        assertTrue(noPolicy(record).startsWith("invalid TXT record"), noPolicy(record));
    }

    @Test
    void discardsRecordsThatDoNotBeginWithTheVersion() {
        // RFC 8461 §3.1: records not beginning with "v=STSv1;" are discarded, then exactly one must
        // remain.
        assertEquals(
                "good",
                id("v=spf1 -all", "v=STSv1; id=good", "V=STSV1; id=other", "v=STSv1 ; id=spaced"));
        assertTrue(noPolicy("v=spf1 -all").contains("begins with"));
        assertTrue(noPolicy(" v=STSv1; id=leadingblank").contains("begins with"));
    }

    @Test
    void moreThanOneCandidateMeansNoPolicy() {
        assertTrue(noPolicy("v=STSv1; id=one", "v=STSv1; id=two").contains("exactly one"));
    }

    @Test
    void noRecordMeansNoPolicy() {
        assertEquals("no TXT record", noPolicy());
    }
}
