import { decimalText, inexactDecimal } from './edm-decimal';

describe('decimalText (numeric(18, 4))', () => {
  const text = (value: string | number) => decimalText(value, 18, 4);

  it('keeps decimal text exactly, with four digits after the point', () => {
    expect(text('1234567890123.4567')).toBe('1234567890123.4567');
    expect(text('99999999999999.9999')).toBe('99999999999999.9999');
    expect(text('29.9')).toBe('29.9000');
    expect(text('007')).toBe('7.0000');
    expect(text('+3.5')).toBe('3.5000');
    expect(text('-0.00001')).toBe('0.0000');
  });

  it('rounds further digits half away from zero, as PostgreSQL does', () => {
    expect(text('0.00005')).toBe('0.0001');
    expect(text('0.000049999')).toBe('0.0000');
    expect(text('-2.00005')).toBe('-2.0001');
    expect(text('1.99999')).toBe('2.0000');
  });

  it('takes a number by its shortest text, not by the double behind it', () => {
    expect(text(29.9)).toBe('29.9000');
    expect(text(0.1 + 0.2)).toBe('0.3000');
    expect(text(Number('99999999999999.99'))).toBe('99999999999999.9800');
    expect(text(1e-7)).toBe('0.0000');
  });

  it('is undefined beyond 14 digits before the point, or for anything but a decimal', () => {
    expect(text('100000000000000')).toBeUndefined();
    // Rounds up to 10^14.
    expect(text('99999999999999.99995')).toBeUndefined();
    expect(text(1e14)).toBeUndefined();
    expect(text(1e21)).toBeUndefined();
    for (const value of ['', '1e2', '1.', '.5', ' 1', '1,5', 'NaN', 'Infinity']) {
      expect(text(value)).toBeUndefined();
    }
    expect(text(Number.NaN)).toBeUndefined();
    expect(text(Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});

describe('inexactDecimal', () => {
  it("gives a literal's exact text when its double rounds it", () => {
    expect(inexactDecimal('12345678901234.5678', Number('12345678901234.5678'))).toBe(
      '12345678901234.5678',
    );
    expect(inexactDecimal('999.949999999999999999', Number('999.949999999999999999'))).toBe(
      '999.949999999999999999',
    );
    expect(inexactDecimal('-0.10000000000000000001', -0.1)).toBe('-0.10000000000000000001');
  });

  it('is undefined when the double says the same', () => {
    for (const raw of ['29.9', '29.90', '007', '+5', '-0', '0.5', '1.0', '3000000000']) {
      expect(inexactDecimal(raw, Number(raw))).toBeUndefined();
    }
    expect(inexactDecimal('1.0e2', 100)).toBeUndefined();
  });
});
