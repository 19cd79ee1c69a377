/** The OData error shape every 4xx and 5xx answer uses (CONTRACT.md section 4). */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    /** The request field the error is about, when there is one. */
    target?: string;
    details?: { code: string; target?: string; message: string }[];
  };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
