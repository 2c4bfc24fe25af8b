import { describe, expect, it } from 'vitest';
import { exactTextOf, numbersSurvive, rememberInexactRecords } from './exact-records.js';

describe('numbers that parsing cannot keep', () => {
  it('tells them from numbers a double reads back as the same value, however they are written', () => {
    for (const same of ['1', '-0', '0.1', '1.0', '1E5', '100000000000000000000', '9007199254740991', '1e-320']) {
      expect(numbersSurvive(`{"n":${same}}`), same).toBe(true);
    }
    expect(numbersSurvive('{"n":0.1000000000000000055511151231257827}')).toBe(false);
    for (const lost of ['9007199254740993', '-9223372036854775809', '1e400', '-1e999', '1.23456789012345678']) {
      expect(numbersSurvive(`{"n":${lost}}`), lost).toBe(false);
    }
    // Digits inside strings, keys and escapes are text, not numbers.
    expect(numbersSurvive('{"9007199254740993":"9007199254740993 \\" 1e400","list":[1,2.5,null,true]}')).toBe(true);
  });
});

describe('the records of a body whose numbers parsing could not keep', () => {
  it('are remembered with the exact text of each, and only those', () => {
    const records = [
      '{"id":"a","n":1}',
      '{ "id" : "b", "big": 9007199254740993, "s": "a \\" ] } , [ {" }',
      '{"id":"c","n":[1e400, {"x": 0.1000000000000000055511151231257827}]}',
      '{"id":"d","s":"9007199254740993"}',
    ];
    const body = `{"success":true,"result":"decoy","errors":[],\n "result" : [ ${records.join(' ,\n ')} ],"result_info":{"count":4}}`;
    const parsed = JSON.parse(body) as { result: unknown[] };
    rememberInexactRecords(body, parsed.result);
    expect(parsed.result.map(exactTextOf)).toEqual([undefined, records[1], records[2], undefined]);
    expect(JSON.parse(exactTextOf(parsed.result[1]) ?? '')).toEqual(parsed.result[1]);
  });

  it('leaves a body alone when it cannot match the text to the parsed records', () => {
    const body = '{"result":[{"n":9007199254740993}]}';
    const elsewhere = [{ n: 9007199254740992 }, { n: 1 }];
    rememberInexactRecords(body, elsewhere);
    expect(elsewhere.map(exactTextOf)).toEqual([undefined, undefined]);
  });
});
